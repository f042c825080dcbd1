"""Async orchestration: plan -> backend -> vision -> decide -> store.

Scheduling rules, and why:

* Items are **launched in plan order** (k = 0, 1, ..., buckets interleaved) and **committed in
  launch order**; de-duplication is decided at commit. So the accepted set depends only on the
  plan and on each item's outcome, never on timing: concurrency 1 and 8 accept the same keys,
  and a resumed run continues exactly where an uninterrupted one would have been.
* A bucket never has more items in flight than it still needs, so nothing is paid for beyond
  the targets. When the next item in plan order belongs to such a bucket, launching waits.
* Every HTTP attempt takes a unit of :class:`CallBudget` before it is sent, so MAX_IMAGE_CALLS
  holds whatever the concurrency; CONCURRENCY bounds the requests at the API at once.
* CPU stages (decode, MTCNN, OCR, pHash, JPEG) run in a thread pool, never on the event loop.

The stages, each a named piece of this module or one below it:

1. plan sequence   :func:`plan_sequence` (which plan keys, in which order; shard filters go here)
2. plan item       :func:`generator.plan.plan_item`
3. generate        :meth:`Pipeline._generate` (the only backend call) and
                   :meth:`Pipeline._arrived` (where a backend result arrives)
4. vision          :func:`generator.vision.process.process` in a worker thread
5. decide          :func:`decide`: accept / reject / skip and the stop rule, pure, on the loop
6. record          :func:`build_record` (the stored record of an accepted item)
7. store           :meth:`Pipeline._write`: the durable writes, the only work of the
                   commit stage that leaves the event loop
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import os
import signal
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from PIL import Image

from generator.backends.base import (
    Backend,
    BudgetExhausted,
    CallBudget,
    CallFailed,
    Deferred,
    Generated,
    ImageRequest,
    Refused,
)
from generator.backends.diffusers_backend import diffusers_model_name
from generator.config import BUCKETS, Config
from generator.costs import format_cost, make_budget, openai_kwargs, run_cost
from generator.errors import UsageError
from generator.plan import PlanItem, plan_item
from generator.schema import Rejection, Sample
from generator.shards import Shard, config_shard
from generator.store import Store, record_id, warn
from generator.text.datelines import CityTable, load_cities
from generator.vision.dedup import CaptionIndex, PHashIndex
from generator.vision.detector_process import DetectorFailed, DetectorProcess, start_for_run
from generator.vision.faces import CascadeLike
from generator.vision.process import Candidate, RejectReason, Vision, VisionSettings

#: HTTP statuses that end the run: the key, the account or the model is wrong, or a gateway
#: redirects (redirects are not followed: each hop would be a request outside the budget).
FATAL_STATUS = frozenset({301, 302, 303, 307, 308, 401, 403, 404})

#: A run stops when this many plan items in a row are rejected: something is misconfigured.
MAX_REJECTS_IN_A_ROW = 200

#: Reject reasons in the order the run statistics list them (the stored strings).
REASONS = tuple(r.value for r in RejectReason)


# ----------------------------------------------------------------------------------------
# Outcomes of one plan item


@dataclass
class Outcome:
    """What happened to one plan item between its launch and its commit."""

    item: PlanItem
    candidate: Candidate | None = None
    attempt: int = 0  # the generation attempt that gave the candidate
    reason: RejectReason | None = None  # why it was rejected, when candidate is None
    calls: int = 0
    attempt_reasons: list[RejectReason] = field(default_factory=list)
    prior_attempts: int = 0  # leading attempt_reasons an earlier run already recorded
    budget_stop: bool = False  # the budget ran out before this item was finished


@dataclass
class RunStats:
    calls: int = 0
    accepted: int = 0
    rejected: Counter = field(default_factory=Counter)  # final verdict per item
    attempts_rejected: Counter = field(default_factory=Counter)  # per generation attempt
    regenerations: int = 0
    tokens_in: int = 0  # usage of the images that came back (the openai backend)
    tokens_out: int = 0
    images_with_usage: int = 0
    started: float = field(default_factory=time.time)
    stopped_by: str | None = None
    final_counts: dict[str, int] = field(default_factory=dict)
    fatal: str | None = None  # why the image API refused the whole run
    backend_info: dict[str, Any] = field(
        default_factory=dict
    )  # a local backend's model, licence, device-seconds
    cost: dict[str, Any] = field(default_factory=dict)  # see generator.costs.run_cost

    def as_dict(self, cfg: Config) -> dict[str, Any]:
        return {
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "seconds": round(time.time() - self.started, 2),
            "backend": cfg.BACKEND,
            "calls": self.calls,
            "accepted": self.accepted,
            "rejected": {r: self.rejected.get(r, 0) for r in REASONS},
            "attempts_rejected": {r: self.attempts_rejected.get(r, 0) for r in REASONS},
            "regenerations": self.regenerations,
            **self.cost,
            "stopped_by": self.stopped_by,
            "config": cfg.public_dict(),
            **self.backend_info,
        }


# ----------------------------------------------------------------------------------------
# Stage 1: the plan sequence


def plan_sequence(
    targets: Mapping[str, int],
    accepted: Mapping[str, int],
    used: Mapping[str, set[int]],
    shard: Shard | None = None,
) -> Iterator[tuple[str, int]]:
    """Unused plan keys in plan order: (k, bucket) ascending, so gaps come first.

    ``accepted`` is read live (the pipeline's own counter), so the sequence ends once every
    bucket has reached its target.
    """
    k, step = (0, 1) if shard is None else (shard.index, shard.count)  # a shard: its own k only
    while any(accepted[b] < targets[b] for b in BUCKETS):
        for b in BUCKETS:
            if accepted[b] < targets[b] and k not in used[b]:
                yield b, k
        k += step


# ----------------------------------------------------------------------------------------
# Stage 5: the decision (pure; runs on the event loop, in commit order)


class Action(enum.Enum):
    ACCEPT = "accept"
    REJECT = "reject"
    SKIP = "skip"  # not finished (the budget or a stop came first): built again on resume


@dataclass(frozen=True)
class Verdict:
    action: Action
    reason: RejectReason | None = None  # for REJECT
    stop: str | None = None  # set when this verdict ends the run (the stop rule)


def decide(
    out: Outcome, captions: CaptionIndex, images: PHashIndex, rejects_in_a_row: int
) -> Verdict:
    """Accept, reject or skip a finished item, given what is accepted so far (read only)."""
    if out.budget_stop and out.candidate is None:
        return Verdict(Action.SKIP)
    reason = out.reason
    cand = out.candidate
    if cand is not None:
        if captions.find(out.item.text) is not None:
            reason = RejectReason.DUPLICATE_CAPTION
        elif images.find(cand.phash):
            reason = RejectReason.DUPLICATE_IMAGE
        else:
            return Verdict(Action.ACCEPT)
    reason = reason or RejectReason.FAILED
    stop = None
    if rejects_in_a_row + 1 >= MAX_REJECTS_IN_A_ROW:
        stop = f"{MAX_REJECTS_IN_A_ROW} rejections in a row (check the backend and the gate knobs)"
    return Verdict(Action.REJECT, reason, stop)


# ----------------------------------------------------------------------------------------
# Stage 6: the records


def build_record(
    cfg: Config,
    item: PlanItem,
    cand: Candidate,
    attempt: int,
    backend: str,
    image: str,
    model: str | None = None,
) -> Sample:
    """The stored sample of an accepted item (``image``: its path relative to the store's
    parent folder). ``fake_image_box`` is DGM4's ``[]``: no DGM4+ class edits an image region
    (a release may carry the whole frame instead: FAKE_IMAGE_BOX at export)."""
    return Sample(
        id=record_id(cfg, item.bucket, item.k),
        image=image,
        text=item.text,
        fake_cls=item.bucket,
        fake_image_box=(),
        fake_text_pos=tuple(item.fake_text_pos),
        mtcnn_boxes=tuple((b[0], b[1], b[2], b[3]) for b in cand.boxes),
        plan_key=item.plan_key,
        literal_text=item.literal_text,
        backdrop=item.backdrop,
        backdrop_kind=item.backdrop_kind,
        shot=item.shot,
        lighting=item.lighting,
        dateline=item.dateline,
        role=item.role,
        event=item.event,
        num_people=item.num_people,
        prompt=item.prompt,
        phash=f"{cand.phash:016x}",
        face_probs=tuple(cand.probs),
        backend=backend,
        model=model
        or (
            cfg.GEN_MODEL
            if backend == "openai"
            else diffusers_model_name(cfg.DIFFUSERS_MODEL)
            if backend == "diffusers"
            else "composite"
        ),
        quality=cfg.GEN_QUALITY,
        seed=cfg.SEED,
        attempt=attempt,
    )


def _reason(text: str) -> RejectReason:
    """A reason string read back from rejected.jsonl (an unknown one counts as failed)."""
    try:
        return RejectReason(text)
    except ValueError:
        return RejectReason.FAILED


def rejection_entry(out: Outcome, reason: RejectReason, backend: str) -> Rejection:
    """The rejected.jsonl line of a rejected item (so a resume never pays for it again)."""
    item = out.item
    return Rejection(
        plan_key=item.plan_key,
        fake_cls=item.bucket,
        reason=str(reason),
        attempt_reasons=tuple(str(r) for r in out.attempt_reasons),
        calls=out.calls,
        backend=backend,
    )


# ----------------------------------------------------------------------------------------
# The run


class Pipeline:
    def __init__(
        self,
        cfg: Config,
        backend: Backend,
        budget: CallBudget,
        store: Store,
        cities: CityTable,
        progress: bool = True,
        cascade: CascadeLike | None = None,
    ) -> None:
        self.cfg = cfg
        self.backend = backend
        self.budget = budget
        self.store = store
        self.cities = cities
        self.vision = Vision(VisionSettings.from_config(cfg), cascade)
        self.stats = RunStats()
        self.phash_index = PHashIndex(cfg.PHASH_DISTANCE_MAX)
        self.captions = CaptionIndex()
        # Rebuilt from stored metadata, without re-reading any image.
        self.phash_index.add_many(
            [int(r.phash, 16) for r in store.records], [r.plan_key for r in store.records]
        )
        for r in store.records:
            self.captions.add(r.text, r.plan_key)
        self.accepted = store.accepted_count()
        self.inflight: Counter = Counter()
        self.stop_reason: str | None = None
        self.rejects_in_a_row = 0
        self.fatal: str | None = None
        self.progress = progress
        self.disk_error: OSError | None = None  # a store write the file system refused
        self.detector_error: DetectorFailed | None = None  # the detector process is gone
        self.cpu_workers = max(1, min(os.cpu_count() or 1, 4))
        self.pool = ThreadPoolExecutor(
            max_workers=self.cpu_workers, thread_name_prefix="dgm4plus-cpu"
        )
        self.api_slots = asyncio.Semaphore(cfg.CONCURRENCY)
        # Items in flight: CONCURRENCY at the API plus one per CPU worker being processed.
        self.max_items = cfg.CONCURRENCY + self.cpu_workers

    # -- stage 1: plan order ---------------------------------------------------------------
    def _sequence(self) -> Iterator[tuple[str, int]]:
        return plan_sequence(
            self.cfg.targets, self.accepted, self.store.used_keys(), config_shard(self.cfg)
        )

    # -- stage 3: generation ---------------------------------------------------------------
    async def _generate(self, req: ImageRequest) -> Generated | bytes:
        """The one place the backend is called; raises the backend's errors."""
        return await self.backend.generate(req)

    async def _arrived(
        self, item: PlanItem, req: ImageRequest, data: Generated | bytes
    ) -> bytes | None:
        """A backend result has arrived (paid for, not yet looked at): returns the image bytes
        the vision stage reads. The raw bytes go to the store's spool first, durably, so a
        crash from here on never loses a paid image (a resume processes the spool, no call)."""
        raw: bytes = data.data if isinstance(data, Generated) else data
        if isinstance(data, Generated) and data.usage is not None:
            self.stats.tokens_in += data.usage.input_tokens
            self.stats.tokens_out += data.usage.output_tokens
            self.stats.images_with_usage += 1
        try:
            await asyncio.to_thread(self.store.spool.put, item.bucket, item.k, req.attempt, raw)
        except OSError as exc:  # disk full: stop; the item is built again on resume
            self.disk_error = self.disk_error or exc
            self.stop_reason = self.stop_reason or f"a write failed ({exc.strerror})"
            return None
        return raw

    async def _reject_attempt(self, item: PlanItem, attempt: int, reason: RejectReason) -> None:
        """A delivered image was rejected: its rejected.jsonl line first, then its spooled
        bytes dropped (or kept in rejected/ with KEEP_REJECTED)."""
        keep = self.cfg.KEEP_REJECTED
        entry = Rejection(
            plan_key=item.plan_key,
            fake_cls=item.bucket,
            attempt=attempt,
            reason=str(reason),
            backend=self.backend.name,
            image=self.store.spool.kept_name(item.bucket, item.k, attempt) if keep else None,
        )

        def write() -> None:
            self.store.append_rejected_attempt(entry)
            self.store.spool.settle(item.bucket, item.k, attempt, keep=keep)

        await self._write(write)

    async def _call(self, item: PlanItem, req: ImageRequest, out: Outcome) -> bytes | None:
        """One generation; None when the item ends here (out.reason or out.budget_stop set)
        or the attempt failed (recorded in out.attempt_reasons)."""
        # CONCURRENCY bounds requests at the API; the CPU stage runs outside the slot, so a
        # slot is free again as soon as its answer has arrived.
        async with self.api_slots:
            if self.stop_reason is not None:  # stopped while this item waited for a slot
                out.budget_stop = True
                return None
            try:
                data = await self._generate(req)
            except BudgetExhausted as exc:
                out.budget_stop = True
                self.stop_reason = self.stop_reason or exc.code or "MAX_IMAGE_CALLS"
                return None
            except Deferred:  # batch mode: this attempt goes into the next batch
                out.budget_stop = True
                return None
            except Refused:
                out.calls += 1
                out.reason = RejectReason.REFUSED
                return None
            except CallFailed as exc:
                out.calls += 1
                if exc.status in FATAL_STATUS:
                    # Bad key, no access, unknown model: every further call would fail too.
                    self.fatal = self.fatal or str(exc)
                    self.stop_reason = self.stop_reason or "the image API refused the run"
                    out.budget_stop = True
                    return None
                out.attempt_reasons.append(RejectReason.FAILED)
                return None
        out.calls += 1
        return await self._arrived(item, req, data)

    def _warm_up(self) -> None:
        """Stage 4's start-up, in a worker thread at the start of the run."""
        # A failure here recurs, and is reported, in the first image's vision stage.
        with contextlib.suppress(Exception):
            self.vision.warm_up()

    # -- stages 2-4: one item, launch to outcome -------------------------------------------
    async def _work(self, item: PlanItem) -> Outcome:
        out = Outcome(item)
        if self.captions.find(item.text) is not None:
            out.reason = RejectReason.DUPLICATE_CAPTION
            return out
        loop = asyncio.get_running_loop()
        # Attempts a stopped or crashed run already rejected are on record: never paid again.
        done = self.store.attempts_of(item.plan_key)
        out.attempt_reasons.extend(_reason(r) for _, r in sorted(done.items()))
        out.prior_attempts = len(out.attempt_reasons)
        for attempt in range(self.cfg.MAX_REGEN_ATTEMPTS + 1):
            if attempt in done:
                continue
            if self.stop_reason is not None:
                out.budget_stop = True
                return out
            if attempt:
                self.stats.regenerations += 1
            req = ImageRequest(
                prompt=item.prompt,
                plan_key=item.plan_key,
                seed=self.cfg.SEED,
                attempt=attempt,
                num_people=item.num_people,
                backdrop=item.backdrop,
                backdrop_kind=item.backdrop_kind,
            )
            data = self.store.spool.get(item.bucket, item.k, attempt)  # delivered before a crash
            if data is None:
                data = await self._call(item, req, out)
            if out.reason is not None or out.budget_stop:
                return out
            if data is None:
                continue  # a failed call: regenerate while attempts remain
            try:
                result = await loop.run_in_executor(self.pool, self.vision.process, data, item.shot)
            except DetectorFailed as exc:  # every image would fail: stop, the spool keeps them
                self.detector_error = self.detector_error or exc
                self.stop_reason = self.stop_reason or "the face detector failed"
                out.budget_stop = True
                return out
            except Exception as exc:  # noqa: BLE001 - one odd image must not end a paid run
                warn(
                    f"{item.plan_key}: vision stage failed on attempt {attempt} "
                    f"({type(exc).__name__}: {exc}); counted as a failed attempt"
                )
                out.attempt_reasons.append(RejectReason.FAILED)
                await self._reject_attempt(item, attempt, RejectReason.FAILED)
                continue
            if isinstance(result, Candidate):
                out.candidate, out.attempt = result, attempt
                return out
            out.attempt_reasons.append(result.reason)
            await self._reject_attempt(item, attempt, result.reason)
        out.reason = out.attempt_reasons[-1] if out.attempt_reasons else RejectReason.FAILED
        return out

    # -- stages 5-7: commit (in launch order, on the event loop) ----------------------------
    async def _write(self, fn: Callable[..., object], *args: Any) -> None:
        """A durable store write, in a thread: the only part of a commit off the event loop."""
        await asyncio.to_thread(fn, *args)

    async def _commit(self, out: Outcome) -> None:
        item = out.item
        self.inflight[item.bucket] -= 1
        self.stats.attempts_rejected.update(out.attempt_reasons[out.prior_attempts :])
        verdict = decide(out, self.captions, self.phash_index, self.rejects_in_a_row)
        if verdict.action is Action.SKIP:
            return
        if verdict.action is Action.REJECT:
            assert verdict.reason is not None
            self.stats.rejected[verdict.reason] += 1
            self.rejects_in_a_row += 1
            if verdict.stop is not None and self.stop_reason is None:
                self.stop_reason = verdict.stop
            if out.candidate is not None:  # a duplicate found at commit: its image was paid too
                await self._reject_attempt(item, out.attempt, verdict.reason)
            await self._write(
                self.store.append_rejected, rejection_entry(out, verdict.reason, self.backend.name)
            )
            return
        cand = out.candidate
        assert cand is not None
        rid = record_id(self.cfg, item.bucket, item.k)
        record = build_record(
            self.cfg,
            item,
            cand,
            out.attempt,
            self.backend.name,
            self.store.relative_image(item.bucket, rid),
            getattr(self.backend, "model", None),
        )
        await self._write(self.store.append_accepted, record, cand.jpeg)
        await self._write(self.store.spool.settle, item.bucket, item.k, out.attempt)
        self.phash_index.add(cand.phash, item.plan_key)
        self.captions.add(item.text, item.plan_key)
        self.accepted[item.bucket] += 1
        self.stats.accepted += 1
        self.rejects_in_a_row = 0

    # -- main loop -------------------------------------------------------------------------
    async def run(self) -> RunStats:
        cfg = self.cfg
        total = cfg.total_target
        done0 = sum(min(self.accepted[b], cfg.targets[b]) for b in BUCKETS)
        bar = _progress_bar(total, done0, cfg.SEED, enabled=self.progress)
        seq = self._sequence()
        nxt: tuple[str, int] | None = next(seq, None)
        # PIL's format plugins are imported here, before any request: the arrival path (decode,
        # then the spool write) would otherwise wait on the import lock while the detector's
        # warm-up imports torch, leaving paid answers unread for seconds (a kill loses them).
        Image.init()
        if nxt is not None:  # torch and MTCNN load while the first requests are in flight
            asyncio.get_running_loop().run_in_executor(self.pool, self._warm_up)
        queue: deque[asyncio.Task[Outcome]] = deque()
        running: set[asyncio.Task[Outcome]] = set()
        self._install_signals()
        try:
            while True:
                while (
                    self.stop_reason is None and nxt is not None and len(running) < self.max_items
                ):
                    bucket, k = nxt
                    if self.accepted[bucket] >= cfg.targets[bucket]:
                        nxt = next(seq, None)  # bucket complete: skip its keys
                        continue
                    if self.accepted[bucket] + self.inflight[bucket] >= cfg.targets[bucket]:
                        break  # wait for this bucket's in-flight items before going on
                    item = plan_item(cfg, self.cities, bucket, k)
                    task = asyncio.create_task(self._work(item))
                    self.inflight[bucket] += 1
                    queue.append(task)
                    running.add(task)
                    nxt = next(seq, None)
                if not queue:
                    break
                if running:
                    done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                    running -= done
                while queue and queue[0].done():
                    out = queue.popleft().result()
                    await self._commit(out)
                    self.stats.calls = self.budget.used
                    if bar is not None:
                        accepted = sum(min(self.accepted[b], cfg.targets[b]) for b in BUCKETS)
                        bar.n = accepted
                        seen = self.stats.accepted + sum(self.stats.rejected.values())
                        rate = self.stats.accepted / seen if seen else 0.0
                        bar.set_postfix(calls=self.budget.used, acc=f"{rate:.0%}", refresh=False)
                        bar.refresh()
                if self.stop_reason is not None and not running and not queue:
                    break
        finally:
            for task in queue:
                if task.done() and not task.cancelled():
                    task.exception()  # retrieved: the error that ended the run is reported once
                else:
                    task.cancel()
            self.stats.calls = self.budget.used
            self.stats.stopped_by = self.stop_reason
            self.stats.final_counts = dict(self.accepted)
            self.stats.fatal = self.fatal
            if bar is not None:
                bar.close()
            self._remove_signals()
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.store.snapshot()
            self.stats.backend_info = getattr(
                self.backend, "info", dict
            )()  # model, licence, device time
            self.stats.cost = run_cost(self.budget, self.backend, self.stats)
            # the city table the datelines came from: the card credits it (GeoNames: CC BY 4.0)
            self.store.append_run({**self.stats.as_dict(cfg), "city_source": self.cities.source})
        return self.stats

    # -- signals ---------------------------------------------------------------------------
    def _install_signals(self) -> None:
        self._signals: list[int] = []
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self._on_signal, sig)
                self._signals.append(sig)

    def _remove_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in self._signals:
            loop.remove_signal_handler(sig)

    def _on_signal(self, sig: int) -> None:
        if self.stop_reason is None:
            self.stop_reason = signal.Signals(sig).name
            warn(
                f"{self.stop_reason}: finishing the images in flight, then stopping "
                "(send it again to stop at once)"
            )
        else:  # second signal: stop now; metadata.jsonl is already durable
            warn("stopped at once; resume with the same command")
            os._exit(130)


def _progress_bar(total: int, initial: int, seed: int, enabled: bool) -> Any:
    from generator import console

    if not enabled or not console.progress_enabled():  # --no-progress, -q
        return None
    from tqdm import tqdm

    return tqdm(
        total=total,
        initial=initial,
        desc=f"Building {total} DGM4-synthetic (seed={seed})",
        unit="img",
        file=sys.stderr,
        dynamic_ncols=True,
    )


# ----------------------------------------------------------------------------------------
# Entry points


def make_backend_for(cfg: Config, budget: CallBudget) -> Backend:
    """The configured backend; the openai one needs OPENAI_API_KEY (checked before any work)."""
    from generator.backends import MissingCredentials, make_backend

    if cfg.BACKEND == "composite":
        return make_backend(
            "composite",
            budget=budget,
            fault_rate=cfg.COMPOSITE_FAULT_RATE,
            signage_rate=cfg.COMPOSITE_SIGNAGE_RATE,
        )
    if cfg.BACKEND == "diffusers":
        from generator.backends.diffusers_backend import backend_kwargs

        return make_backend("diffusers", budget=budget, **backend_kwargs(cfg))
    try:
        return make_backend("openai", budget=budget, **openai_kwargs(cfg))
    except MissingCredentials as exc:
        raise UsageError(str(exc)) from None


def format_stats(stats: dict[str, Any]) -> str:
    rej = ", ".join(f"{k} {v}" for k, v in stats["rejected"].items() if v) or "none"
    return (
        f"calls {stats['calls']}, accepted {stats['accepted']}, rejected: {rej}; "
        f"regenerations {stats['regenerations']}; {format_cost(stats)}"
        + (
            f"; {stats['device_seconds']:.1f} device-seconds on {stats['device']}"
            if "device_seconds" in stats
            else ""
        )
        + (f"; stopped by {stats['stopped_by']}" if stats["stopped_by"] else "")
    )


def fill_store(cfg: Config, progress: bool = True) -> RunStats:
    """Generate (or resume) the store at cfg.OUT_ROOT up to the configured targets."""
    # First of all: the detector process (if one helps) imports torch while the rest starts.
    detector = start_for_run(cfg)
    try:
        return _fill_store(cfg, progress, detector)
    finally:
        if detector is not None:
            detector.close()


def _fill_store(cfg: Config, progress: bool, detector: DetectorProcess | None) -> RunStats:
    budget = make_budget(cfg)
    backend = make_backend_for(cfg, budget)  # credentials are checked before anything is written
    tables: list[CityTable] = []
    try:
        # The city table is read (and refused) after the store's checks, before its first write.
        store, recovery = Store.open(
            cfg.OUT_ROOT, cfg, prepare=lambda: tables.append(load_cities(cfg.CITY_DATA_PATH))
        )
    except OSError as exc:
        raise disk_error(cfg, exc) from None
    try:
        for line in recovery.lines:
            warn(line)
        cities = tables[0]
        from generator.adopt import adopt_orphans

        for line in adopt_orphans(store, cfg, cities, backend.name, build_record, detector):
            warn(line)

        async def _go() -> RunStats:
            try:
                pipe = Pipeline(cfg, backend, budget, store, cities, progress, detector)
                stats = await pipe.run()
                if pipe.disk_error is not None:
                    raise pipe.disk_error
                if pipe.detector_error is not None:
                    raise UsageError(
                        f"{pipe.detector_error}; every delivered image is kept (spool/), and "
                        "the same command resumes"
                    )
                return stats
            finally:
                await backend.aclose()

        return asyncio.run(_go())
    except OSError as exc:
        raise disk_error(cfg, exc) from None
    finally:
        store.close()


def disk_error(cfg: Config, exc: OSError) -> UsageError:
    """A write that the file system refused (disk full, quota, read-only): one line. Every
    write is atomic or an fsynced append, so the store is consistent and a resume completes."""
    where = f" ({exc.filename})" if exc.filename else ""
    return UsageError(
        f"{cfg.OUT_ROOT}: cannot write{where}: {exc.strerror or exc}; free space (or fix the "
        "folder) and run the same command again: everything already written is kept"
    )


def run_generate(cfg: Config) -> int:
    """`dgm4plus generate`: exit 0 when the targets are met, 130 when interrupted, 3 when
    stopped short (budget spent, or too many rejections in a row)."""
    from generator import console  # -q hides the summary; lines are written above any bar

    stats = fill_store(cfg)
    if stats.fatal:  # one line; the statistics are in runs.jsonl
        console.error(f"the image API refused the run: {stats.fatal}")
        return 2
    console.notice(format_stats(stats.as_dict(cfg)))
    if stats.stopped_by in ("SIGINT", "SIGTERM"):
        return 130
    short = {b: cfg.targets[b] - n for b, n in stats.final_counts.items() if n < cfg.targets[b]}
    if short:
        need = ", ".join(f"{b} needs {n} more" for b, n in short.items())
        console.warn(f"stopped short of the targets ({need}); run the same command again to resume")
        return 3
    counts = ", ".join(f"{b} {n}" for b, n in stats.final_counts.items())
    console.notice(f"{cfg.OUT_ROOT} holds {sum(stats.final_counts.values())} samples ({counts})")
    from generator.split_check import store_split_warnings

    for line in store_split_warnings(cfg.OUT_ROOT):
        console.warn(f"warning: {line}")
    return 0
