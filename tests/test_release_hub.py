"""Publishing to the Hub, against a real HTTP fake of the Hub on 127.0.0.1.

The client side runs in a subprocess with the environment a user would set (HF_ENDPOINT,
HF_TOKEN, HF_HUB_DISABLE_XET=1, HF_HOME in a temporary folder), so the real huggingface_hub and
datasets read it at import time exactly as they would in production.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import datasets
import huggingface_hub.constants
import pytest
from fakes.hub_server import FakeHub
from fixtures_store import make_store

from dgm4plus import CONFIG_NAMES, DGM4Plus
from generator.errors import UsageError
from generator.release.hub import push_release, resolve_token, sanitize
from generator.splits import SPLITS

TOKEN = "hf_FAKEtoken0123456789abcdefXYZ"
REPO_ID = "dgm4plus-org/dgm4plus-test"
PER_BUCKET = 30

CLIENT = r"""
import hashlib, json, sys
import datasets
from generator.release.hub import push_release
from generator.errors import UsageError

store, out, mode = sys.argv[1], sys.argv[2], sys.argv[3]
repo = "dgm4plus-org/dgm4plus-test"

def dump(ds):
    ds = ds.cast_column("image", datasets.Image(decode=False))
    rows = []
    for row in ds:
        row["image"] = hashlib.sha256(row["image"]["bytes"]).hexdigest()
        rows.append(row)
    return {"features": ds.features.to_dict(), "rows": rows}

if mode == "push":
    print("url", push_release(store, repo, tag="v1.0"))
    result = {}
    for config in ("origin", "text_attribute", "text_swap", "all"):
        dd = datasets.load_dataset(repo, config)
        result[config] = {split: dump(ds) for split, ds in dd.items()}
    # A second release with other splits: stale shards must go, the tag keeps the first.
    push_release(store, repo, tag="v2", split_ratios=(1.0, 0.0, 0.0))
    result["main_splits"] = sorted(datasets.load_dataset(repo, "text_swap"))
    tagged = datasets.load_dataset(repo, "text_swap", revision="v1.0")
    result["v1_splits"] = sorted(tagged)
    json.dump(result, open(out, "w"))
else:
    try:
        push_release(store, repo)
    except UsageError as exc:
        print("usage-error:", exc, file=sys.stderr)
        sys.exit(2)
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("store"), per_bucket=PER_BUCKET)


def _client(hub, tmp_path, store, mode, token=TOKEN):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HF_", "HUGGING")) and k != "DATASETS_OFFLINE"
    }
    env.update(
        HF_ENDPOINT=hub.url,
        HF_TOKEN=token,
        HF_HUB_DISABLE_XET="1",
        HF_HOME=str(tmp_path / "hf-home"),
        HF_DATASETS_CACHE=str(tmp_path / "hf-datasets"),
        HF_HUB_DISABLE_TELEMETRY="1",
    )
    out = tmp_path / "result.json"
    proc = subprocess.run(
        [sys.executable, "-c", CLIENT, str(store.root), str(out), mode],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return proc, out


def _builder_dump(store, cache):
    result = {}
    for config in CONFIG_NAMES:
        b = DGM4Plus(config_name=config, data_dir=str(store.root), cache_dir=str(cache))
        b.download_and_prepare()
        result[config] = {}
        for split in SPLITS:
            if not b.info.splits[split].num_examples:
                continue
            ds = b.as_dataset(split=split).cast_column("image", datasets.Image(decode=False))
            rows = []
            for row in ds:
                row["image"] = hashlib.sha256(row["image"]["bytes"]).hexdigest()
                rows.append(row)
            result[config][split] = {"features": ds.features.to_dict(), "rows": rows}
    return result


def test_push_then_load_dataset_round_trip(store, tmp_path):
    with FakeHub(TOKEN) as hub:
        proc, out = _client(hub, tmp_path, store, "push")
        output = proc.stdout + proc.stderr
        assert proc.returncode == 0, output[-4000:]
        assert TOKEN not in output
        assert hub.unhandled == []  # every endpoint the client needed is implemented
        repo = hub.repos[("dataset", REPO_ID)]
        assert set(repo.tags) == {"v1.0", "v2"}
        assert hub.validated_yaml  # the card went through /api/validate-yaml
        main_files = set(hub.files(REPO_ID))
        v1_files = set(hub.files(REPO_ID, revision="v1.0"))
        assert "README.md" in main_files and "images/contact_sheet.jpg" in main_files
        assert not any(p.endswith(".py") or "dgm4plus-export" in p for p in main_files)
        assert "data/text_swap/validation-00000-of-00001.parquet" in v1_files
        assert not any(p.startswith("data/") and "/train-" not in p for p in main_files)
        auth_paths = {p for m, p in hub.requests if m in ("POST", "PUT")}
        assert not any(TOKEN in p for p in auth_paths)
    got = json.loads(out.read_text())
    want = json.loads(json.dumps(_builder_dump(store, tmp_path / "builder-cache")))
    for config in CONFIG_NAMES:
        assert got[config] == want[config], config
    assert got["v1_splits"] == ["test", "train", "validation"]
    assert got["main_splits"] == ["train"]


def test_rejected_token_is_a_clean_usage_error(store, tmp_path):
    wrong = "hf_WRONGtoken9876543210zyxwvuXYZ"
    with FakeHub(TOKEN) as hub:
        proc, _ = _client(hub, tmp_path, store, "fail", token=wrong)
        assert not hub.repos  # nothing was created
    assert proc.returncode == 2, proc.stderr[-3000:]
    err_lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("usage-error:")]
    assert len(err_lines) == 1 and "401" in err_lines[0] and "rejected" in err_lines[0]
    assert wrong not in proc.stdout + proc.stderr and TOKEN not in proc.stdout + proc.stderr


def test_no_token_anywhere(store, tmp_path, monkeypatch):
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_TOKEN_PATH", str(tmp_path / "token"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_STORED_TOKENS_PATH", str(tmp_path / "st"))
    with pytest.raises(UsageError, match="no Hugging Face token"):
        resolve_token(None)
    assert resolve_token("hf_given") == "hf_given"


@pytest.mark.parametrize("repo_id", ["no-namespace", "a/b/c", "", "../x/y"])
def test_bad_repo_id(store, repo_id):
    with pytest.raises(UsageError, match="repo id"):
        push_release(store.root, repo_id, token="hf_x")


def test_sanitize_masks_tokens():
    msg = f"401 for url http://h/api?x=1\nAuthorization: Bearer {TOKEN}\nother hf_abcdefghijkl1"
    clean = sanitize(msg, TOKEN)
    assert TOKEN not in clean and "hf_abcdefghijkl1" not in clean and "\n" not in clean
    assert clean.startswith("401 for url")
