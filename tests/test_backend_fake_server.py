"""The fake OpenAI server itself, spoken to over plain HTTP (no SDK)."""

from __future__ import annotations

import base64
import io
import json
import threading
import time
import urllib.error
import urllib.request

import pytest
from PIL import Image

from tests.fakes.openai_server import FakeOpenAIServer


def _post(srv: FakeOpenAIServer, body: dict, path: str = "/images/generations"):
    req = urllib.request.Request(
        srv.base_url + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": "Bearer sk-x"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), json.loads(err.read())


def test_faults_apply_in_order_then_success():
    with FakeOpenAIServer() as srv:
        srv.inject(("429", 3), ("500",), ("moderation",), ("bad_b64",), ("not_image",))
        answers = [_post(srv, {"prompt": "p", "model": "gpt-image-2"}) for _ in range(6)]
        assert srv.pending_faults == 0
        assert srv.generation_count == 6 and srv.request_count == 6
    status, headers, body = answers[0]
    assert status == 429 and headers["Retry-After"] == "3"
    assert body["error"]["code"] == "rate_limit_exceeded"
    assert answers[1][0] == 500 and answers[1][2]["error"]["type"] == "server_error"
    status, _, body = answers[2]
    assert status == 400
    assert body == {
        "error": {
            "message": body["error"]["message"],
            "type": "image_generation_user_error",
            "param": None,
            "code": "moderation_blocked",
        }
    }
    assert answers[3][0] == 200
    with pytest.raises(ValueError):
        base64.b64decode(answers[3][2]["data"][0]["b64_json"], validate=True)
    raw = base64.b64decode(answers[4][2]["data"][0]["b64_json"], validate=True)
    with pytest.raises(Exception):  # noqa: B017 - PIL raises UnidentifiedImageError
        Image.open(io.BytesIO(raw))
    status, _, body = answers[5]
    assert status == 200 and isinstance(body["created"], int)
    Image.open(io.BytesIO(base64.b64decode(body["data"][0]["b64_json"]))).load()


def test_composite_images_are_keyed_by_prompt():
    with FakeOpenAIServer(images="composite", composite_size=256) as srv:
        a = _post(srv, {"prompt": "a nurse on the moon"})[2]["data"][0]["b64_json"]
        b = _post(srv, {"prompt": "a nurse on the moon"})[2]["data"][0]["b64_json"]
        c = _post(srv, {"prompt": "a referee in a lava lake"})[2]["data"][0]["b64_json"]
    assert a == b and a != c
    assert Image.open(io.BytesIO(base64.b64decode(a))).size == (256, 256)


def test_unknown_paths_and_bad_bodies():
    with FakeOpenAIServer() as srv:
        assert _post(srv, {"prompt": "p"}, path="/chat/completions")[0] == 404
        assert _post(srv, {"model": "gpt-image-2"})[0] == 400
        assert srv.request_count == 2 and srv.generation_count == 1


def test_in_flight_is_counted_across_threads():
    with FakeOpenAIServer(latency=0.3) as srv:
        threads = [threading.Thread(target=_post, args=(srv, {"prompt": str(i)})) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert srv.generation_count == 4
        assert srv.max_in_flight >= 3
        deadline = time.monotonic() + 2.0  # handlers finish just after the client has read
        while srv.in_flight and time.monotonic() < deadline:
            time.sleep(0.01)
        assert srv.in_flight == 0


def test_unknown_fault_is_rejected():
    srv = FakeOpenAIServer()
    with pytest.raises(ValueError, match="unknown fault"):
        srv.inject(("418",))
