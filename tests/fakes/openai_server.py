"""A small, real OpenAI Images API stand-in on 127.0.0.1, for tests and benchmarks.

It answers ``POST /v1/images/generations`` the way the API does
(``{"created": ..., "data": [{"b64_json": ...}]}``) so that the real ``openai`` client can be
driven against it, with faults injected in order from a script::

    with FakeOpenAIServer(images="composite") as srv:
        srv.inject(("429", 2), ("500",))
        client = openai.AsyncOpenAI(api_key="sk-test", base_url=srv.base_url)

Faults (each applies to the next request, in order):

=====================  ==========================================================================
``("429", seconds)``   429 with ``Retry-After: seconds`` and a ``rate_limit_exceeded`` error
``("500",)``           500 ``server_error``
``("timeout", s)``     sleeps ``s`` seconds before answering (longer than the client's timeout)
``("moderation",)``    400 ``image_generation_user_error`` / ``moderation_blocked``
``("400",)``           400 ``invalid_request_error`` (another client error)
``("401",)``           401 ``invalid_api_key``
``("bad_b64",)``       200 whose ``b64_json`` is not base64
``("not_image",)``     200 whose ``b64_json`` is valid base64 of bytes that are not an image
=====================  ==========================================================================

``("redirect", code)`` a ``code`` (307...) redirect to the same path (a gateway that bounces)
``("no_usage",)``      200 without ``usage`` (an OpenAI-compatible gateway that drops it)

Like today's API: a shut-down model (``SHUT_DOWN``) answers 404 ``model_not_found``; every success
carries ``usage`` (input/output tokens, from the quality and size) and ``output_format``; the
image comes back in the requested ``output_format`` (png/jpeg/webp, ``output_compression`` as
the JPEG/WebP quality). ``images_per_minute=N`` enforces a rate limit (a token bucket holding
``rate_burst`` images, refilled at N per minute): beyond it, 429 ``rate_limit_exceeded`` with
``Retry-After`` / ``retry-after-ms``; every answer carries ``x-ratelimit-limit-images``,
``x-ratelimit-remaining-images`` and ``x-ratelimit-reset-images``. ``time_scale=K`` makes a
"minute" last 60/K real seconds (benchmarks run in about a minute). ``echo_key_in_request_id``
puts the presented key inside ``x-request-id`` (a server that leaks it back).

The Files and Batches endpoints: ``POST /v1/files`` (multipart, ``purpose=batch``),
``GET /v1/files/{id}`` and ``/content``, ``POST /v1/batches``, ``GET /v1/batches/{id}``. A batch
is ``in_progress`` for ``batch_polls`` retrievals, then ``completed`` (or ``expired`` with only
``batch_expire_after`` lines answered, once): each line of its input
file is answered as a generation would be (faults from the same queue), successes in the output
file, failures in the error file. ``batch_lines`` keeps every submitted ``custom_id``.

``images="fixed"`` answers a small fixed PNG; ``images="composite"`` answers a composite picture
from the offline backend's drawing function, keyed by the prompt (the same prompt gives the same
picture). ``latency`` seconds are slept before every answer (throughput benchmarks). Every
request is counted (thread-safe), and the largest number of requests in flight at once is kept.
``api_key``, when given, is required as the bearer token (401 otherwise).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PIL import Image

__all__ = ["FakeOpenAIServer", "fixed_png"]

GENERATIONS_PATH = "/v1/images/generations"
#: Models the API no longer serves (404 model_not_found), as OpenAI announced them.
SHUT_DOWN = frozenset(
    {
        "gpt-image-1",
        "gpt-image-1-mini",
        "gpt-image-1.5",
        "chatgpt-image-latest",
        "dall-e-2",
        "dall-e-3",
    }
)
#: Output tokens of one 1024x1024 image by quality (the fake's own figures).
_TOKENS = {"low": 272, "medium": 1056, "high": 4160, "auto": 4160, "xhigh": 8320, "max": 16640}


def fixed_png(size: int = 64) -> bytes:
    """A small, valid PNG (a two-colour gradient)."""
    im = Image.linear_gradient("L").resize((size, size)).convert("RGB")
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def _multipart(content_type: str, raw: bytes) -> dict[str, tuple[bytes, str | None]]:
    """The fields of a multipart/form-data body: name -> (bytes, filename)."""
    from email.parser import BytesParser
    from email.policy import HTTP

    msg = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw
    )
    fields: dict[str, tuple[bytes, str | None]] = {}
    if not msg.is_multipart():
        return fields
    for part in msg.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        if name:
            fields[str(name)] = (part.get_payload(decode=True) or b"", part.get_filename())
    return fields


def _error(message: str, type_: str, code: str | None, param: str | None = None) -> dict:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return  # keep test output quiet

    def _send(self, status: int, payload: dict, headers: dict[str, str] | None = None) -> bool:
        """Write one response; False when the client had gone (nothing delivered)."""
        body = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("x-request-id", f"req_fake_{self.server.owner.request_count}")
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True  # the client gave up (timeout): nothing to do
            return False
        return True

    def _send_bytes(self, status: int, data: bytes, ctype: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        owner = self.server.owner
        owner._begin(self, None)
        try:
            if not owner._get(self):
                self._send(404, _error(f"Unknown path {self.path}", "invalid_request_error", None))
        finally:
            owner._end()

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        owner = self.server.owner
        path = self.path.split("?")[0]
        if path in ("/v1/files", "/v1/batches"):
            owner._begin(self, None)
            try:
                owner._post_files_batches(self, path, raw)
            finally:
                owner._end()
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        fault = owner._begin(self, body)
        try:
            owner._answer(self, body, fault)
        finally:
            owner._end()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    owner: FakeOpenAIServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that vanished (killed, timed out) is not a server error: stay quiet."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeOpenAIServer:
    """See the module docstring. Use as a context manager; ``base_url`` ends with ``/v1``."""

    def __init__(
        self,
        *,
        images: str = "fixed",
        latency: float = 0.0,
        faults: tuple[tuple, ...] | list[tuple] = (),
        api_key: str | None = None,
        composite_size: int = 1024,
        images_per_minute: float | None = None,
        rate_burst: float = 1.0,
        time_scale: float = 1.0,
        echo_key_in_request_id: bool = False,
        batch_polls: int = 1,
        batch_expire_after: int | None = None,
    ) -> None:
        if images not in ("fixed", "composite"):
            raise ValueError(f"images must be 'fixed' or 'composite', got {images!r}")
        self.images = images
        self.latency = latency
        self.api_key = api_key
        self.composite_size = composite_size
        self.images_per_minute = images_per_minute
        self.rate_burst = max(1.0, rate_burst)
        self.time_scale = time_scale
        self.echo_key_in_request_id = echo_key_in_request_id
        self.batch_polls = batch_polls
        #: the first batch answers only this many lines and ends ``expired`` (None: never)
        self.batch_expire_after = batch_expire_after
        self._bucket = self.rate_burst  # images available now
        self._bucket_at = time.monotonic()
        self.rate_limited = 0  # generation requests answered 429 by the rate limit
        self.served_at: list[float] = []  # time.monotonic() of every 200 image answer
        self.files: dict[str, dict[str, Any]] = {}  # id -> {"purpose", "filename", "data"}
        self.batches: dict[str, dict[str, Any]] = {}
        self.batch_lines: list[str] = []  # custom_id of every request submitted in a batch
        self._ids = 0
        self._lock = threading.Lock()
        self._faults: deque[tuple] = deque()
        self._fixed_b64 = base64.b64encode(fixed_png()).decode()
        self._composite_cache: dict[str, str] = {}
        self._converted: dict[tuple, str] = {}
        self.request_count = 0  # every request, any path
        self.generation_count = 0  # POSTs to the generations endpoint
        self.in_flight = 0
        self.max_in_flight = 0
        self.requests: list[dict] = []  # parsed JSON bodies of generation requests, in order
        self.answers: list[str] = []  # what each generation request got ("ok", "500", ...)
        #: (time.time(), prompt, client port) of every image answer written out in full to a
        #: client: the images "delivered" (and billed, for the real API). For the chaos test.
        self.deliveries: list[tuple[float, str, int]] = []
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self.inject(*faults)

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> FakeOpenAIServer:
        httpd = _Server(("127.0.0.1", 0), _Handler)
        httpd.owner = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, args=(0.05,), name="fake-openai", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the server is not running")
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # -- script --------------------------------------------------------------------------------

    def inject(self, *faults: tuple) -> None:
        """Queue faults for the next generation requests, in order."""
        known = {
            "429",
            "500",
            "timeout",
            "moderation",
            "400",
            "401",
            "bad_b64",
            "not_image",
            "redirect",
            "no_usage",
        }
        for fault in faults:
            if not fault or fault[0] not in known:
                raise ValueError(f"unknown fault {fault!r}; known: {sorted(known)}")
        with self._lock:
            self._faults.extend(faults)

    @property
    def pending_faults(self) -> int:
        with self._lock:
            return len(self._faults)

    # -- request handling (handler threads) ----------------------------------------------------

    def _begin(self, handler: _Handler, body: dict | None) -> tuple | None:
        with self._lock:
            self.request_count += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            if handler.command != "POST" or handler.path.split("?")[0] != GENERATIONS_PATH:
                return None
            self.generation_count += 1
            self.requests.append(body if isinstance(body, dict) else {"_invalid_json": True})
            return self._faults.popleft() if self._faults else None

    def _end(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _record(self, answer: str) -> None:
        with self._lock:
            self.answers.append(answer)

    def _answer(self, h: _Handler, body: dict | None, fault: tuple | None) -> None:
        if h.path.split("?")[0] != GENERATIONS_PATH:
            h._send(404, _error(f"Unknown path {h.path}", "invalid_request_error", None))
            return
        if self.latency:
            time.sleep(self.latency)
        presented = (h.headers.get("Authorization") or "").removeprefix("Bearer ")
        # A 401 echoes the key it was given (the real API shows part of it): the worst case for
        # code that must keep keys out of its messages.
        bad_key = _error(
            f"Incorrect API key provided: {presented}.", "invalid_request_error", "invalid_api_key"
        )
        if self.api_key is not None and presented != self.api_key:
            self._record("401")
            h._send(401, bad_key)
            return
        if not isinstance(body, dict) or not isinstance(body.get("prompt"), str):
            self._record("400")
            h._send(400, _error("'prompt' is required", "invalid_request_error", None, "prompt"))
            return
        if fault and fault[0] == "redirect":
            self._record("redirect")
            h._send(
                int(fault[1]) if len(fault) > 1 else 307,
                {},
                headers={"Location": f"http://127.0.0.1:{self.port}{GENERATIONS_PATH}"},
            )
            return
        extra = {"x-request-id": f"req_{presented}"} if self.echo_key_in_request_id else {}
        status, payload, headers, kind = self._generation(body, fault, presented)
        headers.update(extra)
        self._record(kind)
        delivered = h._send(status, payload, headers=headers)
        if status == 200 and delivered and kind not in ("bad_b64", "not_image"):
            with self._lock:
                self.deliveries.append((time.time(), body["prompt"], h.client_address[1]))
                self.served_at.append(time.monotonic())

    # -- Files and Batches ---------------------------------------------------------------------

    def _authorised(self, h: _Handler) -> bool:
        presented = (h.headers.get("Authorization") or "").removeprefix("Bearer ")
        if self.api_key is not None and presented != self.api_key:
            h._send(
                401,
                _error("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
            )
            return False
        return True

    def _new_id(self, prefix: str) -> str:
        with self._lock:
            self._ids += 1
            return f"{prefix}_fake{self._ids:05d}"

    def _file_object(self, fid: str) -> dict[str, Any]:
        f = self.files[fid]
        return {
            "id": fid,
            "object": "file",
            "bytes": len(f["data"]),
            "created_at": f["created"],
            "filename": f["filename"],
            "purpose": f["purpose"],
            "status": "processed",
        }

    def _post_files_batches(self, h: _Handler, path: str, raw: bytes) -> None:
        if not self._authorised(h):
            return
        if path == "/v1/files":
            form = _multipart(h.headers.get("Content-Type") or "", raw)
            if "file" not in form or form.get("purpose", (b"", ""))[0] != b"batch":
                h._send(
                    400,
                    _error(
                        "'file' and purpose=batch are required",
                        "invalid_request_error",
                        None,
                        "file",
                    ),
                )
                return
            fid = self._new_id("file")
            data, filename = form["file"]
            with self._lock:
                self.files[fid] = {
                    "purpose": "batch",
                    "filename": filename or "input.jsonl",
                    "data": data,
                    "created": int(time.time()),
                }
            h._send(200, self._file_object(fid))
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        fid = body.get("input_file_id")
        if (
            body.get("endpoint") != GENERATIONS_PATH
            or body.get("completion_window") != "24h"
            or fid not in self.files
        ):
            h._send(
                400,
                _error(
                    "expected endpoint /v1/images/generations, completion_window "
                    "24h and an uploaded input_file_id",
                    "invalid_request_error",
                    None,
                ),
            )
            return
        lines = [json.loads(x) for x in self.files[fid]["data"].decode().splitlines() if x.strip()]
        bid = self._new_id("batch")
        with self._lock:
            self.batch_lines.extend(str(x.get("custom_id")) for x in lines)
            self.batches[bid] = {
                "id": bid,
                "object": "batch",
                "endpoint": GENERATIONS_PATH,
                "input_file_id": fid,
                "completion_window": "24h",
                "status": "validating",
                "created_at": int(time.time()),
                "output_file_id": None,
                "error_file_id": None,
                "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
                "metadata": body.get("metadata"),
                "_polls": 0,
                "_lines": lines,
            }
        h._send(200, self._batch_object(bid))

    def _batch_object(self, bid: str) -> dict[str, Any]:
        return {k: v for k, v in self.batches[bid].items() if not k.startswith("_")}

    def _run_batch(self, bid: str) -> None:
        """Answer every line of a batch: outputs and errors files, as the Batch API writes them."""
        b = self.batches[bid]
        out, err = [], []
        lines = b["_lines"]
        expire = self.batch_expire_after is not None and self.batch_expire_after < len(lines)
        if expire:
            lines = lines[: self.batch_expire_after]
            self.batch_expire_after = None
        for line in lines:
            with self._lock:
                fault = self._faults.popleft() if self._faults else None
            body = line.get("body") or {}
            if fault and fault[0] in ("timeout", "redirect", "429"):
                fault = None  # not meaningful inside a batch
            status, payload, _, kind = self._generation(body, fault, limited=False)
            rid = self._new_id("req")
            entry = {
                "id": self._new_id("batch_req"),
                "custom_id": line.get("custom_id"),
                "response": {"status_code": status, "request_id": rid, "body": payload},
                "error": None,
            }
            (out if status == 200 else err).append(json.dumps(entry))
            if status == 200 and kind not in ("bad_b64", "not_image"):
                with self._lock:
                    self.deliveries.append((time.time(), str(body.get("prompt"))))
        for name, rows in (("output_file_id", out), ("error_file_id", err)):
            if rows:
                fid = self._new_id("file")
                with self._lock:
                    self.files[fid] = {
                        "purpose": "batch_output",
                        "filename": f"{bid}_{name}.jsonl",
                        "data": ("\n".join(rows) + "\n").encode(),
                        "created": int(time.time()),
                    }
                b[name] = fid
        b["request_counts"] = {"total": len(b["_lines"]), "completed": len(out), "failed": len(err)}
        b["status"] = "expired" if expire else "completed"
        b["expired_at" if expire else "completed_at"] = int(time.time())

    def _get(self, h: _Handler) -> bool:
        parts = h.path.split("?")[0].strip("/").split("/")
        if parts == ["v1", "batches"]:  # list, newest first, one page
            if self._authorised(h):
                with self._lock:
                    data = [self._batch_object(b) for b in reversed(list(self.batches))]
                h._send(
                    200,
                    {
                        "object": "list",
                        "data": data,
                        "has_more": False,
                        "first_id": data[0]["id"] if data else None,
                        "last_id": data[-1]["id"] if data else None,
                    },
                )
            return True
        if len(parts) < 3 or parts[0] != "v1" or parts[1] not in ("files", "batches"):
            return False
        if not self._authorised(h):
            return True
        if parts[1] == "files" and parts[2] in self.files:
            if len(parts) == 4 and parts[3] == "content":
                h._send_bytes(200, self.files[parts[2]]["data"], "application/octet-stream")
            else:
                h._send(200, self._file_object(parts[2]))
            return True
        if parts[1] == "batches" and parts[2] in self.batches and len(parts) == 3:
            with self._lock:
                b = self.batches[parts[2]]
                b["_polls"] += 1
                done = b["status"] in ("completed", "expired")
                if not done:
                    b["status"] = "in_progress"
            if not done and b["_polls"] > self.batch_polls:
                self._run_batch(parts[2])
            h._send(200, self._batch_object(parts[2]))
            return True
        h._send(404, _error(f"No such object: {parts[2]}", "invalid_request_error", None))
        return True

    # -- rate limit ----------------------------------------------------------------------------

    def _take_image(self) -> tuple[bool, dict[str, str]]:
        """One image from the rate-limit bucket: (allowed, x-ratelimit-* / Retry-After headers)."""
        if self.images_per_minute is None:
            return True, {}
        per_s = self.images_per_minute * self.time_scale / 60.0
        with self._lock:
            now = time.monotonic()
            self._bucket = min(self.rate_burst, self._bucket + (now - self._bucket_at) * per_s)
            self._bucket_at = now
            ok = self._bucket >= 1.0
            if ok:
                self._bucket -= 1.0
            else:
                self.rate_limited += 1
            missing = max(0.0, 1.0 - self._bucket) if not ok else 0.0
            reset = (self.rate_burst - self._bucket) / per_s
            headers = {
                "x-ratelimit-limit-images": f"{self.images_per_minute * self.time_scale:g}",
                "x-ratelimit-remaining-images": str(int(self._bucket)),
                "x-ratelimit-reset-images": f"{reset:.3f}s",
            }
        if not ok:
            wait = missing / per_s
            headers["retry-after-ms"] = str(max(1, round(wait * 1000)))
            headers["Retry-After"] = str(max(1, int(wait + 0.999)))
        return ok, headers

    # -- one generation (a direct request or a batch line) -------------------------------------

    def _generation(
        self, body: dict, fault: tuple | None, presented: str = "", limited: bool = True
    ) -> tuple[int, dict, dict[str, str], str]:
        """(status, JSON body, headers, what it was) of one generation, as the API answers.
        A batch line is not ``limited`` (batches have their own queue, not the per-minute one)."""
        model = body.get("model")
        if isinstance(model, str) and model in SHUT_DOWN:
            return (
                404,
                _error(
                    f"The model `{model}` does not exist or you do not have access to it.",
                    "invalid_request_error",
                    "model_not_found",
                ),
                {},
                "404",
            )
        ok, headers = self._take_image() if limited else (True, {})
        if not ok:
            return (
                429,
                _error(
                    "Rate limit reached for images per minute. Please try again.",
                    "requests",
                    "rate_limit_exceeded",
                ),
                headers,
                "rate_limited",
            )
        code, payload, more = self._answer_kind(body, fault, presented)
        return code, payload, {**headers, **more}, fault[0] if fault else "ok"

    def _answer_kind(
        self, body: dict, fault: tuple | None, presented: str = ""
    ) -> tuple[int, dict, dict[str, str]]:
        kind = fault[0] if fault else "ok"
        if kind == "timeout":
            time.sleep(float(fault[1]))  # type: ignore[index]
            kind = "ok"  # the client has usually given up by now; answer anyway
        none: dict[str, str] = {}
        if kind == "429":
            return (
                429,
                _error(
                    "Rate limit reached for images per minute. Please try again.",
                    "requests",
                    "rate_limit_exceeded",
                ),
                {"Retry-After": str(fault[1])},
            )  # type: ignore[index]
        if kind == "500":
            return (
                500,
                _error(
                    "The server had an error while processing your request.", "server_error", None
                ),
                none,
            )
        if kind == "moderation":
            return (
                400,
                _error(
                    "Your request was rejected by the safety system.",
                    "image_generation_user_error",
                    "moderation_blocked",
                ),
                none,
            )
        if kind == "400":
            return (
                400,
                _error(
                    "Invalid value for 'size'.", "invalid_request_error", "invalid_value", "size"
                ),
                none,
            )
        if kind == "401":  # echoes the key it was given, as the worst case
            return (
                401,
                _error(
                    f"Incorrect API key provided: {presented}.",
                    "invalid_request_error",
                    "invalid_api_key",
                ),
                none,
            )
        if kind == "bad_b64":
            return 200, self._payload("%%% this is not base64 %%%", body), none
        if kind == "not_image":
            return (
                200,
                self._payload(base64.b64encode(b"plain text, not an image\n" * 8).decode(), body),
                none,
            )
        payload = self._payload(self._image_b64(body["prompt"], body), body)
        if kind == "no_usage":
            payload.pop("usage")
        return 200, payload, none

    def _payload(self, b64: str, body: dict | None = None) -> dict:
        body = body or {}
        size = str(body.get("size") or "1024x1024")
        try:
            w, h = (int(v) for v in size.split("x"))
        except ValueError:
            w, h = 1024, 1024
        out = round(_TOKENS.get(str(body.get("quality") or "auto"), 4160) * w * h / 1024**2)
        text_in = max(1, len(str(body.get("prompt", "")).split()) * 4 // 3)
        return {
            "created": int(time.time()),
            "data": [{"b64_json": b64}],
            "output_format": str(body.get("output_format") or "png"),
            "size": size,
            "quality": body.get("quality") or "auto",
            "usage": {
                "input_tokens": text_in,
                "input_tokens_details": {"text_tokens": text_in, "image_tokens": 0},
                "output_tokens": out,
                "output_tokens_details": {"image_tokens": out, "text_tokens": 0},
                "total_tokens": text_in + out,
            },
        }

    def _image_b64(self, prompt: str, body: dict | None = None) -> str:
        fmt = str((body or {}).get("output_format") or "png")
        quality = (body or {}).get("output_compression")
        png = self._png_b64(prompt)
        if fmt == "png":
            return png
        key = (hashlib.sha256(prompt.encode()).hexdigest()[:16], fmt, quality)
        with self._lock:
            cached = self._converted.get(key)
        if cached is not None:
            return cached
        with Image.open(io.BytesIO(base64.b64decode(png))) as im:
            buf = io.BytesIO()
            q = int(quality) if isinstance(quality, int) else 100
            im.convert("RGB").save(buf, format="JPEG" if fmt == "jpeg" else "WEBP", quality=q)
        b64 = base64.b64encode(buf.getvalue()).decode()
        with self._lock:
            self._converted[key] = b64
        return b64

    def _png_b64(self, prompt: str) -> str:
        if self.images == "fixed":
            return self._fixed_b64
        key = hashlib.sha256(prompt.encode()).hexdigest()[:16]
        with self._lock:
            cached = self._composite_cache.get(key)
        if cached is not None:
            return cached
        from generator.backends.composite import render_composite

        picture = render_composite(
            0,
            f"fake/{key}",
            0,
            1 + int(key, 16) % 3,
            prompt,
            "absurd",
            fault_rate=0.0,
            size=self.composite_size,
            png_level=1,
        )
        b64 = base64.b64encode(picture.png).decode()
        with self._lock:
            self._composite_cache[key] = b64
        return b64
