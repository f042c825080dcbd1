"""The review server over HTTP (urllib against a real server on 127.0.0.1): pages, filters,
images, decisions into reviews.jsonl, the writer lock, and what it refuses."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import REPO, read_jsonl
from fixtures_store import make_store

from generator.errors import UsageError
from generator.lock import StoreLock, StoreLocked
from generator.review.catalog import Catalog, Filters
from generator.review.server import ReviewServer


@pytest.fixture()
def served(tmp_path):
    fx = make_store(tmp_path, per_bucket=4)
    rej = fx.root / "rejected" / "text_swap"
    rej.mkdir(parents=True)
    (rej / "9-0.jpg").write_bytes((fx.root.parent / fx.records[0]["image"]).read_bytes())
    with open(fx.root / "rejected.jsonl", "w") as fh:
        fh.write(
            json.dumps(
                {
                    "plan_key": "text_swap/9",
                    "fake_cls": "text_swap",
                    "reason": "faces",
                    "attempt_reasons": ["faces"],
                    "image": "rejected/text_swap/9-0.jpg",
                }
            )
            + "\n"
        )
        fh.write(
            json.dumps({"plan_key": "origin/9", "reason": "refused", "image": "../../etc/passwd"})
            + "\n"
        )
        fh.write(json.dumps({"plan_key": "origin/10", "reason": "ocr"}) + "\n")
    server = ReviewServer(Catalog(fx.root), 0)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield fx, server
    server.shutdown()
    server.server_close()


def _req(server, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    hdrs = {"Host": f"127.0.0.1:{server.port}", **(headers or {})}
    data = json.dumps(body).encode() if body is not None else None
    if data is not None:
        hdrs["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=hdrs)
    resp = conn.getresponse()
    raw = resp.read()
    conn.close()
    return resp.status, resp.getheader("Content-Type"), raw


def _get(server, path):
    status, _, raw = _req(server, "GET", path)
    assert status == 200, raw
    return json.loads(raw)


def _decide(server, body, token=None):
    return _req(server, "POST", "/api/decision", body, {"X-Review-Token": token or server.token})


def test_pages_filters_and_facets(served):
    fx, server = served
    first = _get(server, "/api/samples?limit=5")
    assert first["total"] == 12 and [c["id"] for c in first["cards"]] == [
        r["id"] for r in fx.records[:5]
    ]
    rest = _get(server, "/api/samples?offset=5&limit=100")
    assert [c["id"] for c in rest["cards"]] == [r["id"] for r in fx.records[5:]]
    swap = _get(server, "/api/samples?fake_cls=text_swap&limit=100")
    assert [c["id"] for c in swap["cards"]] == [r["id"] for r in fx.by_bucket("text_swap")]
    shot = fx.records[0]["shot"]
    both = _get(server, f"/api/samples?fake_cls=origin&shot={shot.replace(' ', '+')}&limit=100")
    assert [c["id"] for c in both["cards"]] == [
        r["id"] for r in fx.by_bucket("origin") if r["shot"] == shot
    ]
    facets = _get(server, "/api/facets")
    assert facets["fake_cls"] == ["origin", "text_attribute", "text_swap"]
    assert set(facets["backdrop_kind"]) <= {"absurd", "realistic"}


def test_cards_mark_exactly_the_labelled_words_and_scale_boxes(served):
    fx, server = served
    cards = {c["id"]: c for c in _get(server, "/api/samples?limit=100")["cards"]}
    for r in fx.records:
        card = cards[r["id"]]
        marked = " ".join(p for p, m in card["segments"] if m)
        assert marked.lower().replace("-", " ").split() == fx.marked[r["id"]], r["text"]
        assert "".join(p for p, _ in card["segments"]) == r["text"]
        x1, y1, x2, y2 = r["mtcnn_boxes"][0]
        assert card["boxes"][0] == pytest.approx(
            [100 * x1 / 400, 100 * y1 / 256, 100 * (x2 - x1) / 400, 100 * (y2 - y1) / 256], abs=1e-3
        )


def test_images_and_detail(served):
    fx, server = served
    r = fx.records[4]
    status, ctype, raw = _req(server, "GET", f"/image/{r['id']}")
    assert (
        status == 200
        and ctype == "image/jpeg"
        and raw == (fx.root.parent / r["image"]).read_bytes()
    )
    assert _req(server, "GET", "/image/123")[0] == 404
    detail = _get(server, f"/api/sample/{r['id']}")
    assert detail["record"] == r and detail["history"] == []


def test_a_decision_is_appended_and_changes_filters(served):
    fx, server = served
    ident = fx.records[1]["id"]
    status, _, raw = _decide(server, {"id": ident, "decision": "reject", "reason": "face artefact"})
    assert status == 200, raw
    assert json.loads(raw)["card"]["status"] == "rejected"
    rows = read_jsonl(fx.root / "reviews.jsonl")
    assert [(x["id"], x["decision"], x["reason"]) for x in rows] == [
        (ident, "reject", "face artefact")
    ]
    assert rows[0]["time"].endswith("+00:00")
    assert [c["id"] for c in _get(server, "/api/samples?status=rejected")["cards"]] == [ident]
    assert _get(server, "/api/samples?status=unreviewed")["total"] == 11
    summary = _get(server, "/api/summary")
    assert (summary["rejected"], summary["reasons"]) == (1, {"face artefact": 1})
    assert _decide(server, {"id": ident, "decision": "undo"})[0] == 200
    assert _get(server, "/api/samples?status=rejected")["total"] == 0
    assert len(read_jsonl(fx.root / "reviews.jsonl")) == 2


@pytest.mark.parametrize(
    ("body", "token", "status"),
    [
        ({"id": 1000000000, "decision": "reject", "reason": "x"}, "wrong", 403),
        ({"id": 1000000000, "decision": "reject"}, None, 400),  # no reason
        ({"id": 42, "decision": "reject", "reason": "x"}, None, 400),  # not in the store
        ({"id": "1000000000", "decision": "accept"}, None, 400),
        ({"id": 1000000000, "decision": "delete"}, None, 400),
    ],
)
def test_bad_decisions_write_nothing(served, body, token, status):
    fx, server = served
    assert _decide(server, body, token)[0] == status
    assert not (fx.root / "reviews.jsonl").exists()


def test_only_its_own_host_is_answered(served):
    _, server = served
    status, _, _ = _req(server, "GET", "/api/summary", headers={"Host": "evil.example:80"})
    assert status == 403


def test_gate_rejects_with_kept_images_and_no_escape(served):
    fx, server = served
    page = _get(server, "/api/gate?images=1")
    assert page["with_images"] == 2 and page["total"] == 2
    kept = [it for it in page["items"] if it["plan_key"] == "text_swap/9"][0]
    assert kept["reason"] == "faces" and kept["images"] == ["rejected-image/0/0"]
    assert _req(server, "GET", "/rejected-image/0/0")[0] == 200
    escaping = [it for it in page["items"] if it["plan_key"] == "origin/9"][0]
    assert escaping["images"] == []
    assert _req(server, "GET", "/rejected-image/1/0")[0] == 404
    assert _get(server, "/api/gate")["total"] == 3


def test_the_page_and_its_assets_are_local(served):
    _, server = served
    status, ctype, raw = _req(server, "GET", "/")
    html = raw.decode()
    assert status == 200 and ctype.startswith("text/html")
    assert server.token in html and "http://" not in html and "https://" not in html
    for name in ("review.js", "review.css"):
        st, _, body = _req(server, "GET", f"/static/{name}")
        assert st == 200 and b"https://" not in body and b"http://" not in body


def test_catalog_filters_match_a_plain_scan(tmp_path):
    fx = make_store(tmp_path, per_bucket=5)
    cat = Catalog(fx.root, background=False)
    for cls in ("origin", "text_swap"):
        for kind in ("absurd", "realistic"):
            got = cat.query(Filters(fake_cls=cls, backdrop_kind=kind), 0, 500)
            want = [
                r["id"] for r in fx.records if r["fake_cls"] == cls and r["backdrop_kind"] == kind
            ]
            assert [c["id"] for c in got["cards"]] == want and got["total"] == len(want)


def test_review_command_holds_the_writer_lock_and_prints_the_url(tmp_path):
    fx = make_store(tmp_path, per_bucket=1)
    proc = subprocess.Popen(
        [sys.executable, "-m", "generator.cli", "review", str(fx.root)],
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stderr.readline()
        assert "http://127.0.0.1:" in line and "Ctrl-C" in line
        with pytest.raises(StoreLocked, match="review"):
            StoreLock(fx.root, purpose="generate").acquire()
    finally:
        proc.send_signal(2)  # Ctrl-C
        assert proc.wait(20) == 0
    with StoreLock(fx.root, purpose="generate"):
        pass  # released on exit
    time.sleep(0)


def test_review_refuses_a_store_that_does_not_exist(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "generator.cli", "review", str(tmp_path / "nope")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (
        proc.returncode == 2 and proc.stderr.count("\n") == 1 and "no dataset store" in proc.stderr
    )
    assert not Path(tmp_path / "nope").exists()


def test_a_corrupt_metadata_line_ends_the_session_with_one_line(tmp_path):
    fx = make_store(tmp_path, per_bucket=2)
    lines = (fx.root / "metadata.jsonl").read_text().splitlines(keepends=True)
    lines[2] = "{not json\n"
    (fx.root / "metadata.jsonl").write_text("".join(lines))
    proc = subprocess.run(
        [sys.executable, "-m", "generator.cli", "review", str(fx.root)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert (
        proc.stderr.splitlines()[-1]
        == f"dgm4plus: error: {fx.root}/metadata.jsonl:3: not a JSON object"
    )
    assert not (fx.root / "reviews.jsonl").exists()


def test_catalog_lines_skip_blanks_and_torn_tails_and_name_line_numbers(tmp_path):
    fx = make_store(tmp_path, per_bucket=1)
    recs = [json.dumps(r) for r in fx.records]
    body = (
        "\n" + recs[0] + "\n\n" + recs[1] + "\n" + recs[2]
    )  # blank lines; last line whole, no newline
    (fx.root / "metadata.jsonl").write_text(body)
    cat = Catalog(fx.root)
    assert [c["id"] for c in cat.query(Filters(), 0, 60)["cards"]] == [r["id"] for r in fx.records]
    cat.wait_index()
    assert len(cat) == 3 and cat.query(Filters(), 0, 60)["total"] == 3
    (fx.root / "metadata.jsonl").write_text(recs[0] + "\n" + recs[1] + "\n" + recs[2][:40])  # torn
    assert [
        c["id"] for c in Catalog(fx.root, background=False).query(Filters(), 0, 60)["cards"]
    ] == [r["id"] for r in fx.records[:2]]
    (fx.root / "metadata.jsonl").write_text(recs[0] + "\n\n[1, 2]\n" + recs[1] + "\n")
    bad = Catalog(fx.root)
    with pytest.raises(UsageError, match=r"metadata\.jsonl:3: not a JSON object"):
        bad.wait_index()


def test_a_busy_port_is_one_line_and_the_lock_is_released(tmp_path):
    import socket

    fx = make_store(tmp_path, per_bucket=1)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "generator.cli", "review", str(fx.root), "--port", str(port)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 2 and f"--port {port}: cannot listen on 127.0.0.1" in proc.stderr
    with StoreLock(fx.root, purpose="generate"):
        pass


def test_page_data_cannot_break_out_of_its_script_tag():
    from generator.review.server import page_html

    html = page_html(
        {"mode": "static", "store": "__DATA__"}, data='{"x": "</script><b>__CONFIG__"}'
    )
    assert (
        "</script><b>" not in html
        and '"store": "__DATA__"' in html
        and "<\\/script><b>__CONFIG__" in html
    )


def test_review_refuses_a_store_another_writer_holds(tmp_path):
    fx = make_store(tmp_path, per_bucket=1)
    with StoreLock(fx.root, purpose="generate"):
        proc = subprocess.run(
            [sys.executable, "-m", "generator.cli", "review", str(fx.root)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 2 and "being written by another dgm4plus" in proc.stderr
    assert proc.stderr.count("\n") == 1
