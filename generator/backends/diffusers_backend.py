"""Local text-to-image generation with a ``diffusers`` pipeline (FLUX, SDXL family...).

The model is a Hub repo id (downloaded at run time into the huggingface_hub cache, with its
token: ``HF_TOKEN`` or ``hf auth login``) or a local folder written by ``save_pretrained``.

Reproducibility: every image gets its own ``torch.Generator`` (on the CPU, so the starting noise
is the same on any device) seeded from SHA-256 of ``(run seed, plan key, attempt)``. Concurrent
requests are gathered into one pipeline call of up to ``batch_size`` images; an image must not
depend on which other images share its call. Batched matrix products pick their kernels by the
number of rows, and on the CPU their results differ in the last bits between batch sizes
(measured: ~1e-7, enough to flip rounded pixels). On the CPU this backend therefore runs the
model parts of a batched call (text encoders, transformer or UNet, VAE decoder) one image at a
time (:func:`run_per_image`): the prompts, the scheduler and the post-processing stay batched,
and the images are byte-identical whatever the batch size (tested). On CUDA the models run
truly batched for throughput; whether the last bits then vary with the batch size is not
measured here (no GPU was available), see README.

Cost is device time, not dollars: each call's wall time is shared out among its images and
summed in :attr:`DiffusersBackend.device_seconds`.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.backends.base import (
    BudgetExhausted,
    CallBudget,
    CallFailed,
    Generated,
    ImageRequest,
)
from generator.errors import UsageError

if TYPE_CHECKING:
    from generator.config import Config

DEFAULT_MODEL = "black-forest-labs/FLUX.1-schnell"


@dataclass(frozen=True)
class ModelDefaults:
    steps: int
    guidance: float
    size: tuple[int, int]  # (width, height)
    max_sequence_length: int | None = None  # FLUX's T5 prompt length
    license: str | None = None  # SPDX-style id as the model card declares it


#: Known models. Licences as their model cards declare them (FLUX.1-schnell: Apache-2.0).
MODEL_DEFAULTS: dict[str, ModelDefaults] = {
    "black-forest-labs/FLUX.1-schnell": ModelDefaults(4, 0.0, (1024, 1024), 256, "apache-2.0"),
    "black-forest-labs/FLUX.1-dev": ModelDefaults(28, 3.5, (1024, 1024), 512),
    "stabilityai/stable-diffusion-xl-base-1.0": ModelDefaults(
        30, 5.0, (1024, 1024), None, "openrail++"
    ),
    "stabilityai/sdxl-turbo": ModelDefaults(1, 0.0, (512, 512)),
}

#: Fallbacks by pipeline class, for any other repo or folder.
CLASS_DEFAULTS: dict[str, ModelDefaults] = {
    "FluxPipeline": ModelDefaults(28, 3.5, (1024, 1024), 512),
    "StableDiffusionXLPipeline": ModelDefaults(30, 5.0, (1024, 1024)),
    "StableDiffusion3Pipeline": ModelDefaults(28, 7.0, (1024, 1024)),
}
GENERIC_DEFAULTS = ModelDefaults(25, 5.0, (512, 512))


def diffusers_model_name(spec: str) -> str:
    """How samples name the model: the repo id, or a local folder's name (never its path)."""
    path = Path(spec).expanduser()
    return path.name if path.is_dir() else spec


def backend_kwargs(cfg: Config) -> dict[str, Any]:
    """The backend's constructor arguments from the knobs (``budget`` aside)."""
    from generator.shards import parse_size

    return {
        "model": cfg.DIFFUSERS_MODEL,
        "device": cfg.DEVICE,
        "steps": cfg.DIFFUSERS_STEPS,
        "guidance": cfg.DIFFUSERS_GUIDANCE,
        "batch_size": cfg.BATCH_SIZE,
        "size": parse_size(cfg.DIFFUSERS_SIZE) if cfg.DIFFUSERS_SIZE else None,
    }


def image_seed(seed: int, plan_key: str, attempt: int) -> int:
    """The seed of one image's generator: a pure function of (run seed, plan key, attempt)."""
    digest = hashlib.sha256(f"diffusers|{seed}|{plan_key}|{attempt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & ((1 << 63) - 1)


def resolve_torch_device(spec: str) -> str:
    """``auto`` -> ``cuda`` when CUDA is present, else ``cpu``; other spellings pass through."""
    from generator.vision.faces import resolve_device

    return resolve_device(spec)


def pick_dtype(device: str) -> Any:
    """bf16 on CUDA when supported (fp16 otherwise), float32 elsewhere."""
    import torch

    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def card_license(folder: Path) -> str | None:
    """The ``license:`` of a model card's YAML front matter, if there is one."""
    readme = folder / "README.md"
    try:
        text = readme.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    if not text.startswith("---"):
        return None
    front = text[3:].split("\n---", 1)[0]
    m = re.search(r"^license:\s*['\"]?([^'\"\n]+?)['\"]?\s*$", front, re.MULTILINE)
    return m.group(1).strip() if m else None


def _hub_card_license(repo_id: str) -> str | None:
    """The Hub repo's card licence (from the cache when offline); None when unavailable."""
    try:
        from huggingface_hub import hf_hub_download

        path = hf_hub_download(repo_id, "README.md")
    except Exception:  # noqa: BLE001 - the licence is informative; the pipeline load decides
        return None
    return card_license(Path(path).parent)


def _load_error(model: str, exc: Exception) -> UsageError:
    """One line for a model that cannot be loaded (never the token: hub errors do not hold it)."""
    import os

    from huggingface_hub import errors as hub_errors

    name = type(exc).__name__
    offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
    if isinstance(exc, hub_errors.GatedRepoError):
        why = (
            "is gated: accept its terms on huggingface.co and log in (HF_TOKEN or `hf auth login`)"
        )
    elif isinstance(exc, hub_errors.RepositoryNotFoundError):
        why = "is not a Hub repository you can read (check the id, or log in for a private one)"
    elif offline:
        why = (
            "is not in the Hugging Face cache and HF_HUB_OFFLINE=1 forbids downloading it; "
            "unset HF_HUB_OFFLINE once, or pass a local folder"
        )
    else:
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else name
        why = f"could not be loaded ({name}: {first})"
    return UsageError(f"--diffusers-model {model}: {why}")


#: Keyword arguments that carry no batch dimension (FLUX's position ids), whatever their length.
UNBATCHED_KWARGS = frozenset({"img_ids", "txt_ids"})
#: The model calls of a pipeline that see the batch, run one image at a time on the CPU.
PER_IMAGE_PARTS = (
    ("text_encoder", "forward"),
    ("text_encoder_2", "forward"),
    ("text_encoder_3", "forward"),
    ("transformer", "forward"),
    ("unet", "forward"),
    ("vae", "decode"),
)


def _batch_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
    import torch

    for value in (*args, *(v for k, v in kwargs.items() if k not in UNBATCHED_KWARGS)):
        if isinstance(value, torch.Tensor) and value.ndim >= 1:
            return int(value.shape[0])
    return 0


def _row(value: Any, i: int, batch: int) -> Any:
    import torch

    if isinstance(value, torch.Tensor) and value.ndim >= 1 and value.shape[0] == batch:
        return value[i : i + 1]
    if isinstance(value, dict):
        return {k: _row(v, i, batch) for k, v in value.items()}
    return value


def _join(parts: list[Any]) -> Any:
    import torch

    first = parts[0]
    if isinstance(first, torch.Tensor):
        return torch.cat(parts) if first.ndim >= 1 else first
    if isinstance(first, tuple | list):
        return type(first)(_join([p[j] for p in parts]) for j in range(len(first)))
    if isinstance(first, dict):  # transformers' ModelOutput and diffusers' BaseOutput are dicts
        joined = {k: _join([p[k] for p in parts]) for k in first}
        return type(first)(**joined)
    return first


def run_per_image(module: Any, method: str) -> None:
    """Make ``module.method`` compute a batch one image at a time and join the results.

    A batched matrix product picks its kernel by the number of rows, so an image's floats would
    depend on how many images share its call (measured on the CPU: 1e-7 differences that flip
    rounded pixels). Run alone, every image meets exactly the shapes of a batch of one.
    """
    original = getattr(module, method)

    def per_image(*args: Any, **kwargs: Any) -> Any:
        batch = _batch_of(args, kwargs)
        if batch <= 1:
            return original(*args, **kwargs)
        parts = []
        for i in range(batch):
            row_args = tuple(_row(a, i, batch) for a in args)
            row_kwargs = {
                k: v if k in UNBATCHED_KWARGS else _row(v, i, batch) for k, v in kwargs.items()
            }
            parts.append(original(*row_args, **row_kwargs))
        return _join(parts)

    setattr(module, method, per_image)


class DiffusersBackend:
    """A diffusers text-to-image pipeline behind the backend protocol, with request batching."""

    name = "diffusers"

    def __init__(
        self,
        *,
        budget: CallBudget,
        model: str = DEFAULT_MODEL,
        device: str = "auto",
        steps: int | None = None,
        guidance: float | None = None,
        size: tuple[int, int] | None = None,
        batch_size: int = 4,
        gather_s: float = 0.02,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.budget = budget
        self.model_id = model
        self.device = resolve_torch_device(device)
        self.batch_size = batch_size
        self.gather_s = gather_s
        self.device_seconds = 0.0
        self.images = 0
        self.calls = 0  # pipeline calls (batches)
        self._pipe, self.license = self._load(model)
        cls = type(self._pipe).__name__
        defaults = MODEL_DEFAULTS.get(model) or CLASS_DEFAULTS.get(cls, GENERIC_DEFAULTS)
        self.pipeline_class = cls
        self.steps = steps if steps is not None else defaults.steps
        self.guidance = guidance if guidance is not None else defaults.guidance
        self.size = size if size is not None else defaults.size
        self.license = self.license or defaults.license or "unknown (see the model card)"
        self._max_seq = self._sequence_length(defaults)
        self.model = diffusers_model_name(model)
        self._pending: list[tuple[ImageRequest, asyncio.Future[Generated]]] = []
        self._arrived: asyncio.Event | None = None
        self._runner: asyncio.Task[None] | None = None
        # One thread runs the model: calls are serial on the device, batches make them wide.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dgm4plus-diffusers")
        self._lock = threading.Lock()

    # -- loading ---------------------------------------------------------------------------
    def _load(self, model: str) -> tuple[Any, str | None]:
        import transformers
        from diffusers import DiffusionPipeline
        from diffusers.utils import logging as diffusers_logging

        # Their warnings and load bars would break the one-line error / progress-bar output;
        # a load failure is reported below in one line of ours.
        diffusers_logging.set_verbosity_error()
        diffusers_logging.disable_progress_bar()
        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()

        folder = Path(model).expanduser()
        local = folder.is_dir()
        if not local and (folder.exists() or model.startswith((".", "/", "~"))):
            raise UsageError(
                f"--diffusers-model {model}: not a folder holding a diffusers pipeline"
            )
        try:
            pipe = DiffusionPipeline.from_pretrained(
                str(folder) if local else model, dtype=pick_dtype(self.device)
            )
        except UsageError:
            raise
        except Exception as exc:  # noqa: BLE001 - every load failure becomes one clear line
            raise _load_error(model, exc) from None
        if not callable(pipe) or not hasattr(pipe, "components"):
            raise UsageError(f"--diffusers-model {model}: not a text-to-image pipeline")
        try:
            pipe = pipe.to(self.device)
        except (RuntimeError, AssertionError, ValueError) as exc:  # no such device, no CUDA build
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise UsageError(
                f"--device {self.device}: cannot run the model there ({first})"
            ) from None
        if self.device == "cpu":
            for part, method in PER_IMAGE_PARTS:
                module = getattr(pipe, part, None)
                if module is not None:
                    run_per_image(module, method)
        pipe.set_progress_bar_config(disable=True)
        lic = card_license(folder) if local else _hub_card_license(model)
        return pipe, lic

    def _sequence_length(self, defaults: ModelDefaults) -> int | None:
        if defaults.max_sequence_length is None:
            return None
        tok = getattr(self._pipe, "tokenizer_2", None)
        limit = getattr(tok, "model_max_length", None)
        if isinstance(limit, int) and 0 < limit < 100_000:
            return min(defaults.max_sequence_length, limit)
        return defaults.max_sequence_length

    # -- the protocol ----------------------------------------------------------------------
    async def generate(self, req: ImageRequest) -> Generated:
        """The image (PNG) and its cost: free in dollars; device time is summed in
        ``device_seconds``. One unit of the budget is reserved before the request is queued."""
        ticket = self.budget.reserve(0.0)
        if ticket is None:
            raise BudgetExhausted(
                f"{req.plan_key} attempt {req.attempt}: {self.budget.cap_message()}",
                code=self.budget.refused_by,
            )
        try:
            return await self._queue(req)
        finally:
            self.budget.settle(ticket, 0.0, "free")

    async def _queue(self, req: ImageRequest) -> Generated:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Generated] = loop.create_future()
        self._pending.append((req, fut))
        if self._arrived is None:
            self._arrived = asyncio.Event()
        self._arrived.set()
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run_batches())
        return await fut

    async def _run_batches(self) -> None:
        """Take up to batch_size waiting requests per call; wait a moment for a full batch."""
        loop = asyncio.get_running_loop()
        assert self._arrived is not None
        while self._pending:
            deadline = loop.time() + self.gather_s
            while len(self._pending) < self.batch_size:
                left = deadline - loop.time()
                if left <= 0:
                    break
                self._arrived.clear()
                try:
                    await asyncio.wait_for(self._arrived.wait(), timeout=left)
                except TimeoutError:
                    break
            batch, self._pending = (
                self._pending[: self.batch_size],
                self._pending[self.batch_size :],
            )
            reqs = [r for r, _ in batch]
            try:
                images = await loop.run_in_executor(self._pool, self.generate_batch, reqs)
            except Exception as exc:  # noqa: BLE001 - the batch's attempts fail, the run goes on
                err = CallFailed(
                    f"diffusers pipeline call failed ({type(exc).__name__}: {exc})"[:300]
                )
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(err)
                continue
            for (_, fut), gen in zip(batch, images, strict=True):
                if not fut.done():
                    fut.set_result(gen)

    def generate_batch(self, reqs: list[ImageRequest]) -> list[Generated]:
        """One pipeline call for ``reqs`` (synchronous; the budget is the caller's business)."""
        import numpy as np
        import torch
        from PIL import Image

        gens = [
            torch.Generator("cpu").manual_seed(image_seed(r.seed, r.plan_key, r.attempt))
            for r in reqs
        ]
        width, height = self.size
        kw: dict[str, Any] = {
            "prompt": [r.prompt for r in reqs],
            "generator": gens,
            "num_inference_steps": self.steps,
            "guidance_scale": self.guidance,
            "width": width,
            "height": height,
            "output_type": "np",
        }
        if self._max_seq is not None:
            kw["max_sequence_length"] = self._max_seq
        with self._lock:
            t0 = time.perf_counter()
            with torch.inference_mode():
                out = self._pipe(**kw)
            arrays = np.asarray(out.images)
            elapsed = time.perf_counter() - t0
            self.device_seconds += elapsed
            self.images += len(reqs)
            self.calls += 1
        results = []
        for arr in arrays:
            pixels = (np.clip(arr, 0.0, 1.0) * 255.0).round().astype(np.uint8)
            buf = io.BytesIO()
            Image.fromarray(pixels).save(buf, format="PNG", compress_level=1)
            results.append(
                Generated(data=buf.getvalue(), model=self.model, cost_usd=0.0, cost_basis="free")
            )
        return results

    def info(self) -> dict[str, Any]:
        """What a run records about this backend (run statistics, release card)."""
        return {
            "model": self.model,
            "model_license": self.license,
            "pipeline_class": self.pipeline_class,
            "device": self.device,
            "dtype": str(pick_dtype(self.device)).replace("torch.", ""),
            "steps": self.steps,
            "guidance": self.guidance,
            "size": f"{self.size[0]}x{self.size[1]}",
            "batch_size": self.batch_size,
            "device_seconds": round(self.device_seconds, 3),
            "images": self.images,
            "pipeline_calls": self.calls,
        }

    async def aclose(self) -> None:
        if self._runner is not None and not self._runner.done():
            self._runner.cancel()
        self._pool.shutdown(wait=True)
