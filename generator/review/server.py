"""`dgm4plus review DGM4`: a local review page on 127.0.0.1 (standard library only).

The page is static HTML/CSS/JS shipped in ``generator/review/static/``; it asks this server for
pages of cards (JSON) and for images, and sends each decision back with a POST. The page itself
stores nothing; the server appends every decision to ``reviews.jsonl`` and holds the store's
writer lock for as long as it runs, so no ``generate`` can write the store meanwhile.

Only requests for this server's own address are answered (a page from another site cannot ride
on it: its Host header differs, and POSTs need the session token that is written into the page).
"""

from __future__ import annotations

import json
import re
import secrets
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from generator.errors import UsageError
from generator.lock import StoreLock
from generator.review.catalog import Catalog, Filters

MAX_BODY = 16_384
ASSETS = {"review.js": "text/javascript; charset=utf-8", "review.css": "text/css; charset=utf-8"}


def asset(name: str) -> str:
    return resources.files("generator.review").joinpath("static", name).read_text(encoding="utf-8")


def page_html(config: dict[str, Any], inline: bool = False, data: str | None = None) -> str:
    """The page: its config (and, for the static page, its data and assets) written in."""
    fills = {"__CONFIG__": json.dumps(config), "__DATA__": data or "null"}
    # One pass, so a marker inside the data is never replaced; "</" cannot close the script tag.
    html = re.sub(
        "__CONFIG__|__DATA__",
        lambda m: fills[m.group(0)].replace("</", "<\\/"),
        asset("review.html"),
    )
    if inline:
        html = html.replace(
            '<link rel="stylesheet" href="static/review.css">',
            "<style>\n" + asset("review.css") + "\n</style>",
        )
        html = html.replace(
            '<script src="static/review.js"></script>',
            "<script>\n" + asset("review.js").replace("</script", "<\\/script") + "\n</script>",
        )
    return html


class ReviewServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, catalog: Catalog, port: int = 0) -> None:
        self.catalog = catalog
        self.token = secrets.token_urlsafe(24)
        try:
            super().__init__(("127.0.0.1", port), _Handler)
        except OSError as exc:
            raise UsageError(
                f"--port {port}: cannot listen on 127.0.0.1 ({exc.strerror})"
            ) from None
        self.allowed_hosts = {f"127.0.0.1:{self.port}", f"localhost:{self.port}"}

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"


class _Handler(BaseHTTPRequestHandler):
    server: ReviewServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        return  # quiet: one line per image would drown the URL

    # -- plumbing -----------------------------------------------------------------------
    def _send(self, status: int, body: bytes, ctype: str, cache: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "max-age=3600" if cache else "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, obj: Any, status: int = 200) -> None:
        self._send(
            status, json.dumps(obj, ensure_ascii=False).encode(), "application/json; charset=utf-8"
        )

    def _error(self, status: int, message: str) -> None:
        self._json({"error": message}, status)

    def _file(self, path: Path | None) -> None:
        if path is None:
            self._error(404, "no such image")
            return
        try:
            body = path.read_bytes()
        except OSError:
            self._error(404, "no such image")
            return
        ctype = {"png": "image/png", "webp": "image/webp"}.get(
            path.suffix.lower().lstrip("."), "image/jpeg"
        )
        self._send(200, body, ctype, cache=True)

    def _host_ok(self) -> bool:
        if self.headers.get("Host") in self.server.allowed_hosts:
            return True
        self._error(403, "this review server only answers requests for its own address")
        return False

    # -- GET ----------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if not self._host_ok():
            return
        url = urlsplit(self.path)
        q = {k: v[-1] for k, v in parse_qs(url.query).items()}
        parts = [p for p in url.path.split("/") if p]
        cat = self.server.catalog
        try:
            route = self._route(parts, q, cat)
            if route is None:
                self._error(404, f"no such page: {url.path}")
            else:
                route()
        except UsageError as exc:
            self._error(400, str(exc))
        except (BrokenPipeError, ConnectionResetError):
            pass

    do_HEAD = do_GET

    def _route(
        self, parts: list[str], q: dict[str, str], cat: Catalog
    ) -> Callable[[], None] | None:
        def num(key: str, default: int) -> int:
            try:
                return int(q.get(key, default))
            except ValueError:
                raise UsageError(f"{key} must be an integer") from None

        if not parts:
            cfg = {"mode": "server", "token": self.server.token, "store": cat.root.name}
            return lambda: self._send(200, page_html(cfg).encode(), "text/html; charset=utf-8")
        head = parts[0]
        if head == "static" and len(parts) == 2 and parts[1] in ASSETS:
            return lambda: self._send(200, asset(parts[1]).encode(), ASSETS[parts[1]])
        if head == "image" and len(parts) == 2 and parts[1].isdigit():
            return lambda: self._file(cat.image_file(int(parts[1])))
        if (
            head == "rejected-image"
            and len(parts) == 3
            and parts[1].isdigit()
            and parts[2].isdigit()
        ):
            return lambda: self._file(cat.reject_image_file(int(parts[1]), int(parts[2])))
        if head != "api" or len(parts) < 2:
            return None
        what = parts[1]
        if what == "samples":

            def samples() -> None:
                self._json(cat.query(Filters.from_query(q), num("offset", 0), num("limit", 60)))
                cat.start_index()  # the first page is out: now parse the rest

            return samples
        if what == "facets":
            return lambda: self._json(cat.facets())
        if what == "summary":
            return lambda: self._json(cat.summary())
        if what == "gate":
            return lambda: self._json(
                cat.gate_page(num("offset", 0), num("limit", 60), q.get("images") == "1")
            )
        if what == "sample" and len(parts) == 3 and parts[2].isdigit():
            detail = cat.detail(int(parts[2]))
            return lambda: self._json(detail) if detail else self._error(404, "no such sample")
        return None

    # -- POST ---------------------------------------------------------------------------
    def do_POST(self) -> None:  # noqa: N802
        if not self._host_ok():
            return
        if urlsplit(self.path).path != "/api/decision":
            self._error(404, "no such endpoint")
            return
        if self.headers.get("X-Review-Token") != self.server.token:
            self._error(403, "missing or wrong review token (reload the page)")
            return
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if not 0 < length <= MAX_BODY:
            self._error(400, "a decision is a small JSON body")
            return
        try:
            body = json.loads(self.rfile.read(length))
            ident, decision = body["id"], body["decision"]
            if not isinstance(ident, int) or isinstance(ident, bool):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            self._error(
                400, 'expected {"id": <int>, "decision": "accept"|"reject"|"undo", "reason": "..."}'
            )
            return
        try:
            card = self.server.catalog.decide(ident, str(decision), body.get("reason"))
        except UsageError as exc:
            self._error(400, str(exc))
            return
        self._json({"card": card, "summary": self.server.catalog.summary()})


def serve(root: Path, port: int = 0, ready: Callable[[str], None] | None = None) -> int:
    """Serve the review page of the store at ``root`` until Ctrl-C (then exit code 0).

    Holds the store's writer lock for the whole time: decisions are writes.
    """
    with StoreLock(root, purpose="review", create=False):
        catalog = Catalog(root)
        server = ReviewServer(catalog, port)
        thread = threading.Thread(target=server.serve_forever, name="review-http", daemon=True)
        timer = threading.Timer(3.0, catalog.start_index)  # in case no page is opened soon
        timer.daemon = True
        try:
            thread.start()
            timer.start()
            line = f"dgm4plus: reviewing {len(catalog)} samples of {root} at {server.url}  (Ctrl-C stops)"
            print(line, file=sys.stderr, flush=True)
            if ready is not None:
                ready(server.url)
            while thread.is_alive():
                catalog.check_index()  # a corrupt metadata line ends the session with one line
                thread.join(0.5)
        except KeyboardInterrupt:
            print("dgm4plus: review stopped; decisions are in reviews.jsonl", file=sys.stderr)
        finally:
            timer.cancel()
            if thread.is_alive():
                server.shutdown()
            server.server_close()
    return 0
