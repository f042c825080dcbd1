"""A small, real Hugging Face Hub stand-in on 127.0.0.1, for tests.

It implements the part of the Hub HTTP API that ``huggingface_hub`` 2.x (with
``HF_HUB_DISABLE_XET=1``) and ``datasets`` call to publish and read a dataset repository:

=========================================================  =====================================
``GET  /api/whoami-v2``                                    who the token belongs to
``POST /api/repos/create``                                 create a repo (409 when it exists)
``POST /api/validate-yaml``                                check a card's YAML front matter
``GET  /api/datasets/{repo}[/revision/{rev}]``             repo info (sha, siblings, cardData)
``POST /api/datasets/{repo}/preupload/{rev}``              upload mode per file (lfs / regular)
``POST /datasets/{repo}.git/info/lfs/objects/batch``       LFS batch, "basic" transfer
``PUT  /lfs-upload/{oid}``                                 the LFS object itself (href above)
``POST /lfs-verify/{oid}``                                 LFS verify step
``POST /api/datasets/{repo}/commit/{rev}``                 NDJSON commit (file, lfsFile, deleted*)
``POST /api/datasets/{repo}/tag/{rev}``                    create a tag
``GET  /api/datasets/{repo}/refs``                         branches and tags
``GET  /api/datasets/{repo}/tree/{rev}[/{path}]``          listing (``recursive`` honoured)
``POST /api/datasets/{repo}/paths-info/{rev}``             info of given paths
``GET|HEAD /datasets/{repo}/resolve/{rev}/{path}``         file content (Range supported)
=========================================================  =====================================

Write calls need ``Authorization: Bearer <token>`` with the server's token. Every request is
logged in ``server.requests`` and every unknown route in ``server.unhandled`` (404), which is how
the list above was found: run the real client against it and read what it missed. Files are kept
in memory; each commit is a full snapshot, so any earlier commit stays readable by its sha.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

GIT_EMPTY = "0" * 40


@dataclass
class Blob:
    data: bytes
    lfs: bool

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def git_oid(self) -> str:
        return hashlib.sha1(b"blob %d\0" % len(self.data) + self.data).hexdigest()


@dataclass
class Commit:
    oid: str
    title: str
    files: dict[str, Blob]
    date: str


@dataclass
class Repo:
    repo_id: str
    repo_type: str
    private: bool
    commits: list[Commit] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)  # tag -> commit oid

    @property
    def head(self) -> Commit:
        return self.commits[-1]

    def commit_for(self, revision: str) -> Commit | None:
        revision = unquote(revision)
        if revision in ("main", "refs/heads/main"):
            return self.head
        if revision in self.tags:
            revision = self.tags[revision]
        for commit in self.commits:
            if commit.oid == revision:
                return commit
        return None


class _Reply(Exception):
    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class FakeHub:
    """The state of the fake Hub and its HTTP server (started with :meth:`start`)."""

    def __init__(self, token: str, user: str = "tester", orgs: tuple[str, ...] = ("dgm4plus-org",)):
        self.token = token
        self.user = user
        self.orgs = orgs
        self.repos: dict[tuple[str, str], Repo] = {}
        self.lfs_objects: dict[str, bytes] = {}
        self.requests: list[tuple[str, str]] = []
        self.unhandled: list[tuple[str, str]] = []
        self.validated_yaml: list[str] = []
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._counter = 0

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeHub:
        hub = self

        class Handler(_Handler):
            state = hub

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- helpers for tests -------------------------------------------------------------------
    def files(
        self, repo_id: str, repo_type: str = "dataset", revision: str = "main"
    ) -> dict[str, bytes]:
        repo = self.repos[(repo_type, repo_id)]
        commit = repo.commit_for(revision)
        assert commit is not None
        return {path: blob.data for path, blob in commit.files.items()}

    # -- state changes -----------------------------------------------------------------------
    def _new_oid(self, seed: str) -> str:
        with self.lock:
            self._counter += 1
            return hashlib.sha1(f"{seed}:{self._counter}".encode()).hexdigest()

    def create_repo(self, repo_type: str, repo_id: str, private: bool) -> Repo:
        with self.lock:
            if (repo_type, repo_id) in self.repos:
                url = f"{self.url}/{_prefix(repo_type)}{repo_id}"
                raise _Reply(
                    409, {"error": f"You already created this {repo_type} repo", "url": url}
                )
            repo = Repo(repo_id=repo_id, repo_type=repo_type, private=private)
            files = {
                ".gitattributes": Blob(b"*.parquet filter=lfs diff=lfs merge=lfs -text\n", False)
            }
            repo.commits.append(Commit(self._new_oid(repo_id), "initial commit", files, _now()))
            self.repos[(repo_type, repo_id)] = repo
            return repo


def _kind(raw: str | None) -> str:
    """``datasets`` / ``datasets/`` / ``None`` (a model URL) -> ``dataset`` / ``model``."""
    return (raw or "models").strip("/")[:-1]


def _prefix(repo_type: str) -> str:
    return "" if repo_type == "model" else f"{repo_type}s/"


class _Handler(BaseHTTPRequestHandler):
    state: FakeHub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        return

    # -- plumbing ------------------------------------------------------------------------------
    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            return self.rfile.read(length)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        return b""

    def _json(self, raw: bytes) -> Any:
        try:
            return json.loads(raw or b"null")
        except json.JSONDecodeError:
            raise _Reply(400, {"error": "invalid JSON body"}) from None

    def _send(
        self,
        status: int,
        body: Any = None,
        headers: dict[str, str] | None = None,
        head: bool = False,
    ) -> None:
        if isinstance(body, bytes):
            data, ctype = body, "application/octet-stream"
        elif body is None:
            data, ctype = b"", "application/json"
        else:
            data, ctype = json.dumps(body).encode(), "application/json"
        self.send_response(status)
        hdrs = {"Content-Type": ctype, "Content-Length": str(len(data)), **(headers or {})}
        for k, v in hdrs.items():
            self.send_header(k, v)
        self.end_headers()
        if not head:
            self.wfile.write(data)

    def _authorized(self) -> bool:
        return self.headers.get("Authorization", "") == f"Bearer {self.state.token}"

    def _require_auth(self) -> None:
        if not self._authorized():
            raise _Reply(401, {"error": "Invalid credentials in Authorization header"})

    def _repo(self, repo_type: str, repo_id: str) -> Repo:
        repo = self.state.repos.get((repo_type, unquote(repo_id)))
        if repo is None or (repo.private and not self._authorized()):
            raise _Reply(
                404,
                {"error": "Repository not found"},
                {"X-Error-Code": "RepoNotFound", "X-Error-Message": "Repository not found"},
            )
        return repo

    def _commit(self, repo: Repo, revision: str) -> Commit:
        commit = repo.commit_for(revision)
        if commit is None:
            raise _Reply(
                404,
                {"error": f"Invalid rev id: {revision}"},
                {"X-Error-Code": "RevisionNotFound", "X-Error-Message": "Invalid rev id"},
            )
        return commit

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        path, query = url.path, parse_qs(url.query)
        with self.state.lock:
            self.state.requests.append((method, self.path))
        head = method == "HEAD"
        try:
            body = self._body() if method in ("POST", "PUT") else b""
            for pattern, verb, fn in ROUTES:
                if verb != ("GET" if head else method):
                    continue
                m = pattern.fullmatch(path)
                if m:
                    fn(self, m, query, body, head)
                    return
            with self.state.lock:
                self.state.unhandled.append((method, self.path))
            raise _Reply(404, {"error": f"fake hub: no route for {method} {path}"})
        except _Reply as reply:
            self._send(reply.status, reply.body, reply.headers, head=head)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    # -- account -----------------------------------------------------------------------------
    def whoami(self, m, query, body, head) -> None:
        self._require_auth()
        s = self.state
        self._send(
            200,
            {
                "type": "user",
                "id": "0" * 24,
                "name": s.user,
                "fullname": "Fake Tester",
                "orgs": [{"name": o, "type": "org"} for o in s.orgs],
                "auth": {
                    "type": "access_token",
                    "accessToken": {"displayName": "fake", "role": "write"},
                },
            },
            head=head,
        )

    def agent_harnesses(self, m, query, body, head) -> None:
        """Best-effort telemetry registry the client fetches; an empty one disables it."""
        self._send(200, {"standardEnvVars": [], "harnesses": {}}, head=head)

    # -- repos -------------------------------------------------------------------------------
    def repo_create(self, m, query, body, head) -> None:
        self._require_auth()
        payload = self._json(body) or {}
        repo_type = payload.get("type") or "model"
        name = payload.get("name")
        namespace = payload.get("organization") or self.state.user
        if not name:
            raise _Reply(400, {"error": "name is required"})
        if namespace != self.state.user and namespace not in self.state.orgs:
            raise _Reply(
                403, {"error": f"You don't have the rights to create a repo under {namespace}"}
            )
        repo_id = f"{namespace}/{name}"
        self.state.create_repo(repo_type, repo_id, bool(payload.get("private")))
        self._send(
            200,
            {
                "url": f"{self.state.url}/{_prefix(repo_type)}{repo_id}",
                "name": repo_id,
                "id": repo_id,
            },
            head=head,
        )

    def repo_info(self, m, query, body, head) -> None:
        repo_type = _kind(m["type"])
        repo = self._repo(repo_type, m["repo"])
        commit = self._commit(repo, m["rev"] or "main")
        card = {}
        readme = commit.files.get("README.md")
        if readme is not None:
            text = readme.data.decode("utf-8", "replace")
            if text.startswith("---"):
                card = yaml.safe_load(text.split("---", 2)[1]) or {}
        self._send(
            200,
            {
                "_id": "0" * 24,
                "id": repo.repo_id,
                "author": repo.repo_id.split("/")[0],
                "sha": commit.oid,
                "private": repo.private,
                "gated": False,
                "disabled": False,
                "downloads": 0,
                "likes": 0,
                "tags": [],
                "lastModified": commit.date,
                "createdAt": repo.commits[0].date,
                "cardData": card,
                "siblings": [{"rfilename": p} for p in sorted(commit.files)],
            },
            head=head,
        )

    def refs(self, m, query, body, head) -> None:
        repo = self._repo(_kind(m["type"]), m["repo"])
        self._send(
            200,
            {
                "branches": [
                    {"name": "main", "ref": "refs/heads/main", "targetCommit": repo.head.oid}
                ],
                "tags": [
                    {"name": t, "ref": f"refs/tags/{t}", "targetCommit": oid}
                    for t, oid in repo.tags.items()
                ],
                "converts": [],
            },
            head=head,
        )

    def tag_create(self, m, query, body, head) -> None:
        self._require_auth()
        repo = self._repo(_kind(m["type"]), m["repo"])
        commit = self._commit(repo, m["rev"])
        tag = (self._json(body) or {}).get("tag")
        if not tag:
            raise _Reply(400, {"error": "tag is required"})
        with self.state.lock:
            if tag in repo.tags:
                raise _Reply(409, {"error": f"Tag {tag} already exists"})
            repo.tags[tag] = commit.oid
        self._send(200, {}, head=head)

    # -- uploads -----------------------------------------------------------------------------
    def preupload(self, m, query, body, head) -> None:
        self._require_auth()
        repo = self._repo(_kind(m["type"]), m["repo"])
        commit = self._commit(repo, m["rev"])
        files = []
        for f in (self._json(body) or {}).get("files", []):
            path = f["path"]
            lfs = (
                path.endswith((".parquet", ".jpg", ".jpeg", ".png", ".arrow"))
                or f["size"] > 10_000_000
            )
            existing = commit.files.get(path)
            files.append(
                {
                    "path": path,
                    "uploadMode": "lfs" if lfs else "regular",
                    "shouldIgnore": False,
                    "oid": existing.git_oid if existing is not None else None,
                }
            )
        self._send(200, {"files": files, "commitOid": commit.oid}, head=head)

    def lfs_batch(self, m, query, body, head) -> None:
        self._require_auth()
        self._repo(_kind(m["type"]), m["repo"])
        payload = self._json(body) or {}
        if payload.get("operation") != "upload":
            raise _Reply(400, {"message": "only uploads are supported"})
        if "basic" not in payload.get("transfers", ["basic"]):
            raise _Reply(400, {"message": "only the basic transfer is supported"})
        objects = []
        for obj in payload.get("objects", []):
            oid, size = obj["oid"], obj["size"]
            entry: dict[str, Any] = {"oid": oid, "size": size, "authenticated": True}
            if oid not in self.state.lfs_objects:
                entry["actions"] = {
                    "upload": {"href": f"{self.state.url}/lfs-upload/{oid}", "header": {}},
                    "verify": {"href": f"{self.state.url}/lfs-verify/{oid}", "header": {}},
                }
            objects.append(entry)
        self._send(200, {"transfer": "basic", "objects": objects, "hash_algo": "sha256"}, head=head)

    def lfs_upload(self, m, query, body, head) -> None:
        oid = m["oid"]
        if hashlib.sha256(body).hexdigest() != oid:
            raise _Reply(400, {"message": "sha256 of the body does not match the oid"})
        with self.state.lock:
            self.state.lfs_objects[oid] = body
        self._send(200, {}, head=head)

    def lfs_verify(self, m, query, body, head) -> None:
        payload = self._json(body) or {}
        data = self.state.lfs_objects.get(m["oid"])
        if data is None or len(data) != payload.get("size"):
            raise _Reply(404, {"message": "object not uploaded"})
        self._send(200, {}, head=head)

    def commit(self, m, query, body, head) -> None:
        self._require_auth()
        repo_type = _kind(m["type"])
        repo = self._repo(repo_type, m["repo"])
        with self.state.lock:
            base = self._commit(repo, m["rev"])
            files = dict(base.files)
            title = "commit"
            for line in body.splitlines():
                if not line.strip():
                    continue
                item = self._json(line)
                key, value = item.get("key"), item.get("value", {})
                if key == "header":
                    title = value.get("summary") or title
                    parent = value.get("parentCommit")
                    if parent and parent != repo.head.oid:
                        raise _Reply(412, {"error": "parent commit is not the head"})
                elif key == "file":
                    if value.get("encoding") != "base64":
                        raise _Reply(400, {"error": "only base64 file content is supported"})
                    files[value["path"]] = Blob(base64.b64decode(value["content"]), False)
                elif key == "lfsFile":
                    data = self.state.lfs_objects.get(value["oid"])
                    if data is None:
                        raise _Reply(
                            422, {"error": f"LFS object {value['oid']} was never uploaded"}
                        )
                    files[value["path"]] = Blob(data, True)
                elif key == "deletedFile":
                    if value["path"] not in files:
                        raise _Reply(
                            404,
                            {"error": "A file with this name doesn't exist"},
                            {"X-Error-Code": "EntryNotFound"},
                        )
                    del files[value["path"]]
                elif key == "deletedFolder":
                    prefix = value["path"].rstrip("/") + "/"
                    for p in [p for p in files if p.startswith(prefix)]:
                        del files[p]
                else:
                    raise _Reply(400, {"error": f"unsupported commit operation {key!r}"})
            oid = self.state._new_oid(repo.repo_id)
            repo.commits.append(Commit(oid, title, files, _now()))
        self._send(
            200,
            {
                "success": True,
                "commitOid": oid,
                "commitUrl": f"{self.state.url}/{_prefix(repo_type)}{repo.repo_id}/commit/{oid}",
                "pullRequestUrl": None,
            },
            head=head,
        )

    def validate_yaml(self, m, query, body, head) -> None:
        """The Hub receives the whole README; the YAML front matter is what it checks."""
        payload = self._json(body) or {}
        content = payload.get("content", "")
        with self.state.lock:
            self.state.validated_yaml.append(content)
        front = ""
        if content.startswith("---"):
            parts = content.split("\n---", 1)
            front = parts[0][3:] if len(parts) == 2 else ""
        try:
            data = yaml.safe_load(front) if front.strip() else {}
        except yaml.YAMLError as exc:
            raise _Reply(400, {"errors": [{"message": f"Invalid YAML: {exc}"}]}) from None
        if not isinstance(data, dict):
            raise _Reply(400, {"errors": [{"message": "YAML metadata must be a mapping"}]})
        problems = _check_card_metadata(data)
        if problems:
            raise _Reply(400, {"errors": [{"message": p} for p in problems], "warnings": []})
        warnings = [] if data else [{"message": "empty or missing yaml metadata in repo card"}]
        self._send(200, {"errors": [], "warnings": warnings}, head=head)

    # -- reading -------------------------------------------------------------------------------
    def _entries(self, commit: Commit, base: str, recursive: bool) -> list[dict[str, Any]]:
        base = base.strip("/")
        prefix = base + "/" if base else ""
        files, folders = [], set()
        for path, blob in commit.files.items():
            if not path.startswith(prefix):
                continue
            rest = path[len(prefix) :]
            parts = rest.split("/")
            for i in range(1, len(parts)):
                if recursive or i == 1:
                    folders.add(prefix + "/".join(parts[:i]))
            if recursive or len(parts) == 1:
                files.append(self._file_entry(path, blob))
        out = [
            {"type": "directory", "path": f, "oid": hashlib.sha1(f.encode()).hexdigest()}
            for f in sorted(folders)
        ]
        return out + sorted(files, key=lambda e: e["path"])

    @staticmethod
    def _file_entry(path: str, blob: Blob) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "type": "file",
            "path": path,
            "size": len(blob.data),
            "oid": blob.git_oid,
        }
        if blob.lfs:
            entry["lfs"] = {"oid": blob.sha256, "size": len(blob.data), "pointerSize": 134}
        return entry

    def tree(self, m, query, body, head) -> None:
        repo = self._repo(_kind(m["type"]), m["repo"])
        commit = self._commit(repo, m["rev"])
        base = unquote(m["path"] or "")
        recursive = query.get("recursive", ["false"])[0].lower() in ("1", "true")
        if base and base in commit.files:
            raise _Reply(404, {"error": "not a folder"}, {"X-Error-Code": "EntryNotFound"})
        entries = self._entries(commit, base, recursive)
        if base and not entries:
            raise _Reply(
                404, {"error": f"{base} does not exist"}, {"X-Error-Code": "EntryNotFound"}
            )
        self._send(200, entries, head=head)

    def paths_info(self, m, query, body, head) -> None:
        repo = self._repo(_kind(m["type"]), m["repo"])
        commit = self._commit(repo, m["rev"])
        ctype = self.headers.get("Content-Type", "")
        if ctype.startswith("application/json"):
            paths = (self._json(body) or {}).get("paths", [])
        else:
            paths = parse_qs(body.decode()).get("paths", [])
        out = []
        for p in paths:
            p = p.strip("/")
            if p in commit.files:
                out.append(self._file_entry(p, commit.files[p]))
            elif any(f.startswith(p + "/") for f in commit.files):
                out.append(
                    {"type": "directory", "path": p, "oid": hashlib.sha1(p.encode()).hexdigest()}
                )
        self._send(200, out, head=head)

    def resolve(self, m, query, body, head) -> None:
        repo_type = _kind(m["type"])
        repo = self._repo(repo_type, m["repo"])
        commit = self._commit(repo, m["rev"])
        path = unquote(m["path"])
        blob = commit.files.get(path)
        if blob is None:
            raise _Reply(
                404,
                {"error": "Entry not found"},
                {
                    "X-Error-Code": "EntryNotFound",
                    "X-Error-Message": "Entry not found",
                    "X-Repo-Commit": commit.oid,
                },
            )
        etag = blob.sha256 if blob.lfs else blob.git_oid
        headers = {
            "X-Repo-Commit": commit.oid,
            "ETag": f'"{etag}"',
            "Accept-Ranges": "bytes",
            "Content-Type": "application/octet-stream",
        }
        if blob.lfs:
            headers["X-Linked-Etag"] = f'"{blob.sha256}"'
            headers["X-Linked-Size"] = str(len(blob.data))
        data = blob.data
        status = 200
        rng = self.headers.get("Range")
        if rng:
            mm = re.fullmatch(r"bytes=(\d*)-(\d*)", rng.strip())
            if mm:
                size = len(data)
                if mm[1] == "":
                    start, end = max(0, size - int(mm[2])), size - 1
                else:
                    start = int(mm[1])
                    end = min(int(mm[2]), size - 1) if mm[2] else size - 1
                if start >= size:
                    raise _Reply(
                        416,
                        {"error": "range not satisfiable"},
                        {"Content-Range": f"bytes */{size}"},
                    )
                headers["Content-Range"] = f"bytes {start}-{end}/{size}"
                data, status = data[start : end + 1], 206
        self._send(status, data, headers, head=head)


_REPO = r"(?P<repo>[^/]+/[^/]+?)"
_TYPE = r"(?P<type>datasets/|models/|spaces/)"
ROUTES = [
    (re.compile(r"/api/whoami-v2"), "GET", _Handler.whoami),
    (re.compile(r"/api/agent-harnesses"), "GET", _Handler.agent_harnesses),
    (re.compile(r"/api/repos/create"), "POST", _Handler.repo_create),
    (re.compile(r"/api/validate-yaml"), "POST", _Handler.validate_yaml),
    (
        re.compile(rf"/api/(?P<type>datasets|models|spaces)/{_REPO}(?:/revision/(?P<rev>[^/]+))?"),
        "GET",
        _Handler.repo_info,
    ),
    (re.compile(rf"/api/(?P<type>datasets|models|spaces)/{_REPO}/refs"), "GET", _Handler.refs),
    (
        re.compile(rf"/api/(?P<type>datasets|models|spaces)/{_REPO}/preupload/(?P<rev>[^/]+)"),
        "POST",
        _Handler.preupload,
    ),
    (
        re.compile(rf"/api/(?P<type>datasets|models|spaces)/{_REPO}/commit/(?P<rev>[^/]+)"),
        "POST",
        _Handler.commit,
    ),
    (
        re.compile(rf"/api/(?P<type>datasets|models|spaces)/{_REPO}/tag/(?P<rev>[^/]+)"),
        "POST",
        _Handler.tag_create,
    ),
    (
        re.compile(
            rf"/api/(?P<type>datasets|models|spaces)/{_REPO}/tree/(?P<rev>[^/]+)(?:/(?P<path>.*))?"
        ),
        "GET",
        _Handler.tree,
    ),
    (
        re.compile(rf"/api/(?P<type>datasets|models|spaces)/{_REPO}/paths-info/(?P<rev>[^/]+)"),
        "POST",
        _Handler.paths_info,
    ),
    (re.compile(rf"/{_TYPE}?{_REPO}\.git/info/lfs/objects/batch"), "POST", _Handler.lfs_batch),
    (re.compile(r"/lfs-upload/(?P<oid>[0-9a-f]{64})"), "PUT", _Handler.lfs_upload),
    (re.compile(r"/lfs-verify/(?P<oid>[0-9a-f]{64})"), "POST", _Handler.lfs_verify),
    (re.compile(rf"/{_TYPE}?{_REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)"), "GET", _Handler.resolve),
]


# A subset of the Hub's metadata rules, enough to catch what a generated card could get wrong.
KNOWN_TASK_CATEGORIES = {
    "image-classification",
    "text-classification",
    "zero-shot-image-classification",
    "image-text-to-text",
    "image-to-text",
    "object-detection",
    "visual-question-answering",
    "token-classification",
}
KNOWN_SIZE_CATEGORIES = {
    "n<1K",
    "1K<n<10K",
    "10K<n<100K",
    "100K<n<1M",
    "1M<n<10M",
    "10M<n<100M",
    "100M<n<1B",
    "1B<n<10B",
    "10B<n<100B",
    "100B<n<1T",
    "n>1T",
}


def _check_card_metadata(data: dict[str, Any]) -> list[str]:
    problems = []
    for key in ("task_categories", "size_categories", "language", "tags"):
        if key in data and not isinstance(data[key], list):
            problems.append(f"{key} must be a list")
    for task in data.get("task_categories") or []:
        if task not in KNOWN_TASK_CATEGORIES:
            problems.append(f"task_categories: unknown task {task!r}")
    for size in data.get("size_categories") or []:
        if size not in KNOWN_SIZE_CATEGORIES:
            problems.append(f"size_categories: unknown value {size!r}")
    if "license" in data and not isinstance(data["license"], str | list):
        problems.append("license must be a string")
    for cfg in data.get("configs") or []:
        if not isinstance(cfg, dict) or "config_name" not in cfg:
            problems.append("configs: every entry needs a config_name")
    return problems


def running_hub(token: str) -> FakeHub:
    """Start a fake Hub on a free port of 127.0.0.1 (stop it with ``.stop()``)."""
    return FakeHub(token).start()


__all__ = ["FakeHub", "running_hub"]
