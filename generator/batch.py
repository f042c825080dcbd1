"""``dgm4plus generate --batch``: the Batch API (``/v1/images/generations``, half price, 24 h).

One command, run again and again until it exits 0:

1. **Submit.** The plan items still to make become a JSONL input file, one request per line
   with ``custom_id = "<plan_key>#<attempt>"`` (e.g. ``text_swap/17#0``); it is uploaded
   (``files.create(purpose="batch")``) and a batch is created (``batches.create(endpoint=
   "/v1/images/generations", completion_window="24h")``). Every request takes one unit of
   MAX_IMAGE_CALLS and holds its worst case at the batch price against MAX_COST before the
   file is written: a batch never holds more than the caps allow. The command exits 3, saying
   how to resume.
2. **Collect.** Run again: the batch is polled (exit 3 while it runs); once it is done, its
   output and error files are downloaded, every returned image is written to the store's spool
   (durably, before anything else), and every image then goes through the pipeline's own
   gate -> crop -> scrub -> dedup -> store stages (the :class:`~generator.pipeline.Pipeline`,
   fed by :class:`BatchResults`, not a second copy of them).
3. **Follow up.** Items whose image was rejected get their next attempt (bounded by
   MAX_REGEN_ATTEMPTS), and items still missing new plan keys, in the next batch.

The ledger ``batches.jsonl`` in the store records each step before the next one starts:
``intent`` (the uploaded file and a token put in the batch's metadata) before
``batches.create``, ``submitted`` (the batch id) after it, ``error`` for each failed request,
``collected`` once every returned image is in the spool. A kill at any instant therefore
resumes with no request submitted twice (an intent without its ``submitted`` line is looked up
among the account's batches by its token) and no returned image lost (the output file is read
again until ``collected`` is on record; spooled images are processed first).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.backends.base import (
    CallBudget,
    CallFailed,
    Deferred,
    Generated,
    ImageRequest,
    Refused,
)
from generator.backends.models import Pricer, require_usable
from generator.config import BUCKETS, Config
from generator.costs import make_budget
from generator.errors import UsageError
from generator.pipeline import FATAL_STATUS, Pipeline, plan_sequence
from generator.plan import plan_item
from generator.store import Store, split_key, warn

__all__ = ["BATCHES_JSONL", "BatchResults", "Ledger", "custom_id", "run_batch"]

BATCHES_JSONL = "batches.jsonl"
ENDPOINT = "/v1/images/generations"
#: Batch API limits (DESIGN.md): 50,000 requests and 200 MB per input file.
MAX_REQUESTS = 50_000
MAX_FILE_BYTES = 200 * 1024 * 1024
TERMINAL = {"completed", "failed", "expired", "cancelled"}
EXIT_PENDING = 3  # "stopped short: run the same command again"


def custom_id(plan_key: str, attempt: int) -> str:
    return f"{plan_key}#{attempt}"


def parse_custom_id(cid: str) -> tuple[str, int, int] | None:
    """(bucket, k, attempt) of a custom_id of ours; None for anything else."""
    key, _, attempt = cid.rpartition("#")
    try:
        bucket, k = split_key(key)
        return bucket, k, int(attempt)
    except (ValueError, UsageError):
        return None


def _crash_point(name: str) -> None:
    """Fault injection for the kill tests: _DGM4PLUS_BATCH_CRASH_AT=<name> kills the process."""
    if os.environ.get("_DGM4PLUS_BATCH_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


# ----------------------------------------------------------------------------------------
# The ledger


@dataclass
class Ledger:
    """``batches.jsonl``: append-only, one fsynced JSON line per step."""

    path: Path
    events: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def load(cls, root: Path) -> Ledger:
        path = root / BATCHES_JSONL
        events: list[dict[str, Any]] = []
        if path.is_file():
            lines = path.read_bytes().split(b"\n")
            for n, raw in enumerate(lines, start=1):
                if not raw.strip():
                    continue
                try:
                    obj = json.loads(raw)
                except ValueError:
                    if n >= len(lines) - 1:  # a torn last line: the step did not happen
                        break
                    from generator.errors import DataFileError

                    raise DataFileError(
                        path, n, "not valid JSON; fix or remove this line"
                    ) from None
                if isinstance(obj, dict):
                    events.append(obj)
        return cls(path, events)

    def append(self, event: dict[str, Any]) -> None:
        data = (json.dumps(event, sort_keys=True) + "\n").encode()
        with open(self.path, "ab") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        self.events.append(event)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") == kind]

    def submitted_ids(self) -> set[str]:
        """Every custom_id ever put in a batch that exists (or may exist)."""
        ids: set[str] = set()
        void = {e.get("token") for e in self.of("void")}
        for e in self.of("intent"):
            if e.get("token") not in void:
                ids.update(e.get("custom_ids") or [])
        return ids

    def open_intent(self) -> dict[str, Any] | None:
        done = {e.get("token") for e in self.of("submitted")} | {
            e.get("token") for e in self.of("void")
        }
        for e in self.of("intent"):
            if e.get("token") not in done:
                return e
        return None

    def pending(self) -> dict[str, Any] | None:
        """The submitted batch not yet collected, if any."""
        collected = {e.get("batch_id") for e in self.of("collected")}
        for e in self.of("submitted"):
            if e.get("batch_id") not in collected:
                return e
        return None

    def errors(self) -> dict[str, dict[str, Any]]:
        return {str(e.get("custom_id")): e for e in self.of("error")}

    def collected_ids(self) -> set[str]:
        by_token = {e.get("batch_id"): e.get("token") for e in self.of("submitted")}
        tokens = {by_token.get(e.get("batch_id")) for e in self.of("collected")}
        ids: set[str] = set()
        for e in self.of("intent"):
            if e.get("token") in tokens:
                ids.update(e.get("custom_ids") or [])
        return ids


# ----------------------------------------------------------------------------------------
# The pipeline's backend in batch mode


class BatchResults:
    """A backend that answers from collected batch results, and defers everything else.

    Returned images are already in the spool (the pipeline reads them there before calling a
    backend), so ``generate`` is only reached for attempts that did not come back as an image:
    a failed request raises the error it got (a refusal is final, as in a synchronous run);
    anything else is :class:`Deferred` and remembered in ``wanted`` for the next batch.
    """

    name = "openai"
    batch = True

    def __init__(self, model: str, errors: Mapping[str, Mapping[str, Any]]) -> None:
        self.model = model
        self.errors = dict(errors)
        self.wanted: list[ImageRequest] = []

    async def generate(self, req: ImageRequest) -> Generated:
        err = self.errors.get(custom_id(req.plan_key, req.attempt))
        if err is not None:
            if err.get("code") == "moderation_blocked":
                raise Refused(
                    f"{req.plan_key} attempt {req.attempt}: refused by moderation (in a batch)",
                    status=400,
                    code="moderation_blocked",
                )
            status = err.get("status")
            raise CallFailed(
                f"{req.plan_key} attempt {req.attempt}: failed in a batch "
                f"(HTTP {status}, {err.get('code')})",
                status=status if status in FATAL_STATUS else None,
                code=str(err.get("code")),
            )
        self.wanted.append(req)
        raise Deferred(f"{req.plan_key} attempt {req.attempt}: goes into the next batch")

    async def aclose(self) -> None:
        return None


# ----------------------------------------------------------------------------------------
# The run


def _client(cfg: Config) -> Any:
    from generator import redact
    from generator.backends.openai_backend import OpenAIBackend, _resolve_key

    OpenAIBackend.check_credentials()
    key = _resolve_key(None)
    redact.register(key)
    redact.install()
    import openai

    http = openai.DefaultAsyncHttpxClient(follow_redirects=False)
    return openai.AsyncOpenAI(
        api_key=key, max_retries=2, timeout=cfg.REQUEST_TIMEOUT, http_client=http
    )


def _params(cfg: Config, prompt: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": cfg.GEN_MODEL,
        "prompt": prompt,
        "size": cfg.GEN_SIZE,
        "quality": cfg.GEN_QUALITY,
        "n": 1,
        "output_format": cfg.OUTPUT_FORMAT,
        "moderation": cfg.MODERATION,
    }
    if cfg.OUTPUT_COMPRESSION is not None:
        body["output_compression"] = cfg.OUTPUT_COMPRESSION
    return body


def _plan_keys_in(ids: set[str]) -> dict[str, set[int]]:
    keys: dict[str, set[int]] = {b: set() for b in BUCKETS}
    for cid in ids:
        parsed = parse_custom_id(cid)
        if parsed is not None:
            keys[parsed[0]].add(parsed[1])
    return keys


def _next_requests(
    cfg: Config, store: Store, cities: Any, wanted: list[ImageRequest], submitted: set[str]
) -> Iterator[tuple[str, str, str]]:
    """(custom_id, bucket, prompt) of the next batch in plan order: attempts the last pass
    deferred first, then fresh plan keys until every class has a request per missing sample."""
    accepted = store.accepted_count()
    need = {b: max(0, cfg.targets[b] - accepted[b]) for b in BUCKETS}
    open_keys = _plan_keys_in(submitted)
    used = store.used_keys()
    taken = {b: 0 for b in BUCKETS}
    for req in wanted:
        bucket, k = split_key(req.plan_key)
        cid = custom_id(req.plan_key, req.attempt)
        if cid in submitted or taken[bucket] >= need[bucket]:
            continue
        taken[bucket] += 1
        yield cid, bucket, req.prompt
    # fresh keys: neither used by the store nor in any batch so far
    busy = {b: used[b] | open_keys[b] for b in BUCKETS}
    counts = {b: accepted[b] + taken[b] for b in BUCKETS}  # read live by plan_sequence
    for bucket, k in plan_sequence(cfg.targets, counts, busy):
        item = plan_item(cfg, cities, bucket, k)
        counts[bucket] += 1
        yield custom_id(item.plan_key, 0), bucket, item.prompt


async def _find_batch(client: Any, token: str) -> Any | None:
    async for b in client.batches.list(limit=100):
        meta = getattr(b, "metadata", None) or {}
        if meta.get("dgm4plus_token") == token:
            return b
    return None


async def _download(client: Any, file_id: str | None) -> list[dict[str, Any]]:
    if not file_id:
        return []
    content = await client.files.content(file_id)
    rows = []
    for line in content.content.splitlines():
        if line.strip():
            obj = json.loads(line)
            if isinstance(obj, dict):
                rows.append(obj)
    return rows


async def _submit(
    cfg: Config,
    store: Store,
    ledger: Ledger,
    client: Any,
    cities: Any,
    wanted: list[ImageRequest],
    budget: CallBudget,
    pricer: Pricer,
) -> int:
    """Write, upload and create the next batch; the number of requests in it."""
    submitted = ledger.submitted_ids()
    lines: list[str] = []
    ids: list[str] = []
    size = 0
    for cid, _bucket, prompt in _next_requests(cfg, store, cities, wanted, submitted):
        worst = pricer.worst_case(prompt)
        if budget.reserve(worst or 0.0) is None:
            warn(f"batch: {budget.cap_message()}; the batch holds {len(ids)} request(s)")
            break
        line = json.dumps(
            {"custom_id": cid, "method": "POST", "url": ENDPOINT, "body": _params(cfg, prompt)}
        )
        if len(ids) >= MAX_REQUESTS or size + len(line) + 1 > MAX_FILE_BYTES:
            break
        lines.append(line)
        ids.append(cid)
        size += len(line) + 1
    if not ids:
        return 0
    data = ("\n".join(lines) + "\n").encode()
    token = uuid.uuid4().hex
    (store.root / f"batch_input_{token[:12]}.jsonl").write_bytes(data)  # a copy, for the user
    fobj = await client.files.create(file=(f"dgm4plus_{token[:12]}.jsonl", data), purpose="batch")
    _crash_point("after_upload")
    ledger.append(
        {
            "event": "intent",
            "token": token,
            "input_file_id": fobj.id,
            "custom_ids": ids,
            "worst_usd": round(budget.held_usd, 6),
        }
    )
    _crash_point("after_intent")
    batch = await client.batches.create(
        input_file_id=fobj.id,
        endpoint=ENDPOINT,
        completion_window="24h",
        metadata={"dgm4plus_token": token, "dgm4plus_store": store.root.name},
    )
    _crash_point("after_create")
    ledger.append({"event": "submitted", "token": token, "batch_id": batch.id})
    return len(ids)


def run_batch(cfg: Config) -> int:
    """`dgm4plus generate --batch`: exit 0 when the targets are met, 3 while a batch is out
    (run the same command again), 2 on bad input."""
    if cfg.BACKEND != "openai":
        raise UsageError("--batch: the Batch API needs --backend openai")
    require_usable(cfg.GEN_MODEL)
    pricer = Pricer(
        cfg.GEN_MODEL,
        cfg.GEN_SIZE,
        cfg.GEN_QUALITY,
        price_per_image=cfg.PRICE_PER_IMAGE,
        batch=True,
    )
    if cfg.MAX_COST is not None and not pricer.can_price:
        raise UsageError(
            f"MAX_COST: cannot cap the cost of {cfg.GEN_MODEL}, which the model "
            "table does not price: give --price-per-image too"
        )
    client = _client(cfg)
    store, recovery = Store.open(cfg.OUT_ROOT, cfg)
    try:
        for line in recovery.lines:
            warn(line)
        return asyncio.run(_run(cfg, store, client, pricer))
    finally:
        store.close()


async def _run(cfg: Config, store: Store, client: Any, pricer: Pricer) -> int:
    from generator.text.datelines import load_cities

    ledger = Ledger.load(store.root)
    cities = load_cities(cfg.CITY_DATA_PATH)
    try:
        # 1. an intent without its batch id: was the batch created before the kill?
        intent = ledger.open_intent()
        if intent is not None:
            found = await _find_batch(client, str(intent["token"]))
            if found is not None:
                ledger.append(
                    {"event": "submitted", "token": intent["token"], "batch_id": found.id}
                )
            else:
                ledger.append({"event": "void", "token": intent["token"]})
        # 2. a batch out: poll it, collect it when done
        pending = ledger.pending()
        collected_now = None
        if pending is not None:
            batch = await client.batches.retrieve(str(pending["batch_id"]))
            if batch.status not in TERMINAL:
                counts = getattr(batch, "request_counts", None)
                done = f" ({counts.completed}/{counts.total} done)" if counts else ""
                print(
                    f"dgm4plus: batch {batch.id} is {batch.status}{done}; run the same command "
                    "again later to collect it (the Batch API finishes within 24 h)",
                    file=sys.stderr,
                )
                return EXIT_PENDING
            collected_now = await _collect_batch(store, ledger, client, batch, pricer)
        # 3. every image that came back goes through the pipeline's stages
        wanted, stats = await _process(cfg, store, ledger, cities, collected_now)
        if stats is not None:
            from generator.pipeline import format_stats

            print(f"dgm4plus: {format_stats(stats.as_dict(cfg))}", file=sys.stderr)
        # 4. done, or the next batch
        accepted = store.accepted_count()
        short = {b: cfg.targets[b] - accepted[b] for b in BUCKETS if accepted[b] < cfg.targets[b]}
        if not short:
            print(
                f"dgm4plus: {cfg.OUT_ROOT} holds {sum(accepted[b] for b in BUCKETS)} samples "
                f"({', '.join(f'{b} {accepted[b]}' for b in BUCKETS)})",
                file=sys.stderr,
            )
            return 0
        budget = make_budget(cfg)
        n = await _submit(cfg, store, ledger, client, cities, wanted, budget, pricer)
        need = ", ".join(f"{b} needs {v} more" for b, v in short.items())
        if n == 0:
            print(
                f"dgm4plus: stopped short of the targets ({need}): no request fits the caps "
                "or every plan item is spent",
                file=sys.stderr,
            )
            return EXIT_PENDING
        pend = ledger.pending()
        print(
            f"dgm4plus: submitted batch {pend['batch_id'] if pend else '?'} with {n} requests "
            f"(worst case ${budget.held_usd:.2f} at the batch price; {need}); run the same "
            "command again to collect it",
            file=sys.stderr,
        )
        return EXIT_PENDING
    finally:
        await client.close()


async def _collect_batch(
    store: Store, ledger: Ledger, client: Any, batch: Any, pricer: Pricer
) -> dict[str, Any]:
    """Download the output and error files; spool each image, record each error."""
    from generator.backends.openai_backend import _decode_image, usage_of

    out = await _download(client, getattr(batch, "output_file_id", None))
    err = await _download(client, getattr(batch, "error_file_id", None))
    known_errors = ledger.errors()
    summary = {
        "batch_id": batch.id,
        "images": 0,
        "errors": 0,
        "cost_usd": 0.0,
        "tokens_in": 0,
        "tokens_out": 0,
        "usage_images": 0,
        "basis": {},
    }
    for row in out + err:
        cid = str(row.get("custom_id"))
        parsed = parse_custom_id(cid)
        if parsed is None:
            continue
        bucket, k, attempt = parsed
        response = row.get("response") or {}
        status = int(response.get("status_code") or 0)
        body = response.get("body") or {}
        data = (body.get("data") or [{}])[0].get("b64_json") if status == 200 else None
        raw: bytes | None = None
        if data:
            try:
                raw = await asyncio.to_thread(_decode_image, data)
            except ValueError:
                raw = None
        usage = usage_of(body) if status == 200 else None
        cost, basis = pricer.of_usage(usage) if status == 200 else (0.0, "usage")
        summary["cost_usd"] += cost
        summary["basis"][basis] = summary["basis"].get(basis, 0) + 1
        if usage is not None:
            summary["tokens_in"] += usage.input_tokens
            summary["tokens_out"] += usage.output_tokens
            summary["usage_images"] += 1
        if raw is not None:
            await asyncio.to_thread(store.spool.put, bucket, k, attempt, raw)
            summary["images"] += 1
            _crash_point(f"collect:{summary['images']}")
        elif cid not in known_errors:
            error = (row.get("error") or body.get("error") or {}) if isinstance(body, dict) else {}
            code = error.get("code") if isinstance(error, dict) else None
            if status == 200:
                code = code or "bad_image"
            ledger.append(
                {
                    "event": "error",
                    "batch_id": batch.id,
                    "custom_id": cid,
                    "status": status,
                    "code": code,
                }
            )
            summary["errors"] += 1
    # a request with no line at all (an expired or cancelled batch): a failed attempt, so the
    # item gets its next attempt in the follow-up batch instead of waiting forever
    answered = {str(r.get("custom_id")) for r in out + err}
    token = next(
        (e.get("token") for e in ledger.of("submitted") if e.get("batch_id") == batch.id), None
    )
    asked = next(
        (e.get("custom_ids") or [] for e in ledger.of("intent") if e.get("token") == token), []
    )
    for cid in asked:
        if cid not in answered and cid not in known_errors:
            ledger.append(
                {
                    "event": "error",
                    "batch_id": batch.id,
                    "custom_id": cid,
                    "status": 0,
                    "code": f"not_returned ({batch.status})",
                }
            )
            summary["errors"] += 1
    requested = len(out) + len(err)
    ledger.append(
        {
            "event": "collected",
            "batch_id": batch.id,
            "status": batch.status,
            "requests": requested,
            **{k: v for k, v in summary.items() if k != "batch_id"},
        }
    )
    return summary


async def _process(
    cfg: Config, store: Store, ledger: Ledger, cities: Any, collected_now: dict[str, Any] | None
) -> tuple[list[ImageRequest], Any]:
    """Run the pipeline over every plan item of a collected batch that is not finished.
    Its runs.jsonl line carries the requests and dollars of every collected batch not yet
    accounted for (so a kill between collection and this line loses no cost)."""
    del collected_now  # the ledger says what is not accounted yet
    ids = ledger.collected_ids()
    keys = _plan_keys_in(ids)
    used = store.used_keys()
    todo = {b: keys[b] - used[b] for b in BUCKETS}
    backend = BatchResults(cfg.GEN_MODEL, ledger.errors())
    accounted = {e.get("batch_id") for e in ledger.of("accounted")}
    fresh = [e for e in ledger.of("collected") if e.get("batch_id") not in accounted]
    if not any(todo.values()) and not fresh:
        return [], None
    budget = CallBudget(None)
    for e in fresh:
        for basis, count in (e.get("basis") or {}).items():
            for _ in range(int(count)):
                ticket = budget.reserve(0.0)
                assert ticket is not None
                budget.settle(ticket, 0.0, str(basis))
        budget.spent_usd += float(e.get("cost_usd") or 0.0)
    pipe = BatchPipeline(cfg, backend, budget, store, cities, progress=False)
    pipe.todo = todo
    pipe.stats.tokens_in = sum(int(e.get("tokens_in") or 0) for e in fresh)
    pipe.stats.tokens_out = sum(int(e.get("tokens_out") or 0) for e in fresh)
    pipe.stats.images_with_usage = sum(int(e.get("usage_images") or 0) for e in fresh)
    stats = await pipe.run()
    for e in fresh:
        ledger.append({"event": "accounted", "batch_id": e.get("batch_id")})
    return backend.wanted, stats


class BatchPipeline(Pipeline):
    """The pipeline over the plan keys of collected batches only, in plan order."""

    todo: dict[str, set[int]]

    def _sequence(self) -> Iterator[tuple[str, int]]:
        top = max((max(v) for v in self.todo.values() if v), default=-1)
        for k in range(top + 1):
            for b in BUCKETS:
                if k in self.todo[b] and self.accepted[b] < self.cfg.targets[b]:
                    yield b, k
