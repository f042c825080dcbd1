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


def fixed_png(size: int = 64) -> bytes:
    """A small, valid PNG (a two-colour gradient)."""
    im = Image.linear_gradient("L").resize((size, size)).convert("RGB")
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def _error(message: str, type_: str, code: str | None, param: str | None = None) -> dict:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return  # keep test output quiet

    def _send(self, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
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

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self.server.owner._begin(self, None)
        try:
            self._send(404, _error(f"Unknown path {self.path}", "invalid_request_error", None))
        finally:
            self.server.owner._end()

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        owner = self.server.owner
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
    ) -> None:
        if images not in ("fixed", "composite"):
            raise ValueError(f"images must be 'fixed' or 'composite', got {images!r}")
        self.images = images
        self.latency = latency
        self.api_key = api_key
        self.composite_size = composite_size
        self._lock = threading.Lock()
        self._faults: deque[tuple] = deque()
        self._fixed_b64 = base64.b64encode(fixed_png()).decode()
        self._composite_cache: dict[str, str] = {}
        self.request_count = 0  # every request, any path
        self.generation_count = 0  # POSTs to the generations endpoint
        self.in_flight = 0
        self.max_in_flight = 0
        self.requests: list[dict] = []  # parsed JSON bodies of generation requests, in order
        self.answers: list[str] = []  # what each generation request got ("ok", "500", ...)
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
        known = {"429", "500", "timeout", "moderation", "400", "401", "bad_b64", "not_image"}
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
        kind = fault[0] if fault else "ok"
        if kind == "timeout":
            time.sleep(float(fault[1]))
            kind = "ok"  # the client has usually given up by now; answer anyway
        self._record(fault[0] if fault else "ok")
        if kind == "429":
            h._send(
                429,
                _error(
                    "Rate limit reached for images per minute. Please try again.",
                    "requests",
                    "rate_limit_exceeded",
                ),
                headers={"Retry-After": str(fault[1])},
            )
        elif kind == "500":
            h._send(
                500,
                _error(
                    "The server had an error while processing your request.", "server_error", None
                ),
            )
        elif kind == "moderation":
            h._send(
                400,
                _error(
                    "Your request was rejected by the safety system.",
                    "image_generation_user_error",
                    "moderation_blocked",
                ),
            )
        elif kind == "400":
            h._send(
                400,
                _error(
                    "Invalid value for 'size'.", "invalid_request_error", "invalid_value", "size"
                ),
            )
        elif kind == "401":
            h._send(401, bad_key)
        elif kind == "bad_b64":
            h._send(200, self._payload("%%% this is not base64 %%%"))
        elif kind == "not_image":
            h._send(
                200, self._payload(base64.b64encode(b"plain text, not an image\n" * 8).decode())
            )
        else:
            h._send(200, self._payload(self._image_b64(body["prompt"])))

    def _payload(self, b64: str) -> dict:
        return {
            "created": int(time.time()),
            "data": [{"b64_json": b64}],
            "output_format": "png",
            "usage": {"input_tokens": 10, "output_tokens": 272, "total_tokens": 282},
        }

    def _image_b64(self, prompt: str) -> str:
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
