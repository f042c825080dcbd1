"""One typed configuration object for every knob of a run.

Knobs keep the names of the original ``Datasetgen.py`` (``MISPLACED_BG_RATE``, ``MIN_FACES``,
``min_prob`` ...). Values come from, strongest first: command-line flags (the knob name in kebab
case, e.g. ``--misplaced-bg-rate``), the environment (``DGM4PLUS_MISPLACED_BG_RATE``), a TOML file
(``--config run.toml``, keys spelled as the knob names, case-insensitive), a named preset
(``--preset dgm4plus-2025``: :mod:`generator.presets`) and the defaults below.
Every invalid value raises :class:`ConfigError` naming the key and what is allowed.
"""

from __future__ import annotations

import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from generator.errors import ConfigError
from generator.presets import PRESET_NAMES, preset_values

ENV_PREFIX = "DGM4PLUS_"

#: Bucket name -> (config field holding its target, folder under OUT_ROOT). Order is plan order.
BUCKETS: dict[str, tuple[str, str]] = {
    "origin": ("TARGET_LITERAL", "origin/generated"),
    "text_attribute": ("TARGET_INV_EMO", "manipulation/text_attribute"),
    "text_swap": ("TARGET_IRRELEV", "manipulation/text_swap"),
}

#: Flags that do not follow the kebab-case rule (the issue's names for them).
FLAG_ALIASES: dict[str, tuple[str, ...]] = {
    "TARGET_LITERAL": ("--origin",),
    "TARGET_INV_EMO": ("--text-attribute",),
    "TARGET_IRRELEV": ("--text-swap",),
    "CITY_DATA_PATH": ("--city-data",),
    "OUT_ROOT": ("--out",),
    "SEED": ("--seed",),
    "CONCURRENCY": ("--concurrency",),
    "BACKEND": ("--backend",),
}


def _knob(default: Any, help: str, **meta: Any) -> Any:
    return field(default=default, metadata={"help": help, **meta})


@dataclass(frozen=True)
class Config:
    # --- where and what ------------------------------------------------------------------
    OUT_ROOT: Path = _knob(Path("DGM4"), "output dataset root (its name prefixes every image path)")
    PRESET: str | None = _knob(
        None,
        "named knob values under TOML, env and flags (generator/presets.py)",
        choices=PRESET_NAMES,
    )
    SEED: int = _knob(123456789, "run seed: the same seed gives the same plan on any machine")
    TARGET_LITERAL: int = _knob(1000, "accepted samples wanted for origin (literal captions)")
    TARGET_INV_EMO: int = _knob(1000, "accepted samples wanted for text_attribute")
    TARGET_IRRELEV: int = _knob(1000, "accepted samples wanted for text_swap")
    MISPLACED_BG_RATE: float = _knob(
        1.0, "share of absurd backdrops; the rest are realistic", lo=0.0, hi=1.0
    )
    # --- captions ------------------------------------------------------------------------
    CITY_DATA_PATH: Path | None = _knob(None, "worldcities.csv or cities1000.txt for datelines")
    USE_EM_DASH: bool = _knob(True, "em dash after the dateline (otherwise a colon)")
    DATELINE_RATE: float = _knob(
        1.0, "share of captions that start with a dateline", lo=0.0, hi=1.0
    )
    TEXT_SWAP_SPANS: str = _knob(
        "all",
        "text_swap span: every swapped headline word, or only words differing from the literal caption (DGM4)",
        choices=("all", "diff"),
    )
    # --- image generation ----------------------------------------------------------------
    BACKEND: str = _knob("openai", "image backend", choices=("openai", "composite", "diffusers"))
    GEN_MODEL: str = _knob(
        "gpt-image-2", "image model (see the model table: generator/backends/models.py)"
    )
    GEN_SIZE: str = _knob(
        "1024x1024",
        "image size asked of the model: 1024x1024, 1536x1024, 1024x1536, or WxH where the model allows",
    )
    GEN_QUALITY: str = _knob(
        "low", "image quality: low, medium, high, auto (xhigh, max where the model allows)"
    )
    OUTPUT_FORMAT: str = _knob(
        "jpeg", "format the API returns images in", choices=("png", "jpeg", "webp")
    )
    OUTPUT_COMPRESSION: int | None = _knob(
        None,
        "jpeg/webp compression 0-100 asked of the API (none = the API's default, 100)",
        lo=0,
        hi=100,
    )
    MODERATION: str = _knob(
        "auto", "content-moderation level asked of the API", choices=("auto", "low")
    )
    MAX_COST: float | None = _knob(
        None,
        "hard cap in US dollars, checked before every request against one more call's worst case",
        lo=0.0,
    )
    PRICE_PER_IMAGE: float | None = _knob(
        None, "US dollars per image for a model the table does not price", lo=0.0
    )
    IMAGES_PER_MINUTE: float | None = _knob(
        None,
        "pace requests to the account's images-per-minute limit (shared by all workers)",
        lo=0.001,
    )
    CONCURRENCY: int = _knob(5, "concurrent image requests", lo=1, hi=256)
    MAX_IMAGE_CALLS: int | None = _knob(None, "hard cap on image API calls, retries included", lo=0)
    MAX_REGEN_ATTEMPTS: int = _knob(
        1, "extra generations after the first for a rejected image", lo=0, hi=20
    )
    MAX_RETRIES: int = _knob(4, "retries of one transient API failure", lo=0, hi=20)
    REQUEST_TIMEOUT: float = _knob(120.0, "seconds before one image request times out", lo=0.001)
    COMPOSITE_FAULT_RATE: float = _knob(
        0.15, "composite: share of attempts with no or too many faces", lo=0.0, hi=1.0
    )
    COMPOSITE_SIGNAGE_RATE: float = _knob(
        0.0, "composite: share of attempts with readable signage", lo=0.0, hi=1.0
    )
    DIFFUSERS_MODEL: str = _knob(
        "black-forest-labs/FLUX.1-schnell",
        "diffusers: Hub repo id or local folder of a text-to-image pipeline (FLUX, SDXL family)",
    )
    DIFFUSERS_STEPS: int | None = _knob(
        None, "diffusers: denoising steps (none = the model's default)", lo=1, hi=200
    )
    DIFFUSERS_GUIDANCE: float | None = _knob(
        None, "diffusers: guidance scale (none = the model's default)", lo=0.0, hi=50.0
    )
    DIFFUSERS_SIZE: str | None = _knob(
        None, "diffusers: WxH asked of the model, multiples of 16 (none = the model's default)"
    )
    BATCH_SIZE: int = _knob(
        4, "diffusers: images per pipeline call (concurrent requests are gathered)", lo=1, hi=64
    )
    DEVICE: str = _knob(
        "auto", "diffusers and MTCNN device: auto (CUDA when present), cpu, cuda, cuda:N"
    )
    SHARD: str | None = _knob(
        None, "I/N: build only the plan items of shard I of N (k mod N == I) into this store"
    )
    RAY: bool = _knob(
        False, "generate the shards as Ray tasks (RAY_ADDRESS or a local cluster), then merge"
    )
    RAY_SHARDS: int | None = _knob(
        None, "shards for --ray (none = one per GPU, or per CPU without GPUs)", lo=1, hi=100000
    )
    # --- face gate and crop --------------------------------------------------------------
    MIN_FACES: int = _knob(1, "fewest faces an image may have", lo=0)
    MAX_FACES: int = _knob(3, "most faces an image may have", lo=1)
    min_prob: float = _knob(0.80, "best face's MTCNN probability at least", lo=0.0, hi=1.0)
    min_side_px: int = _knob(110, "best face's side at least, in 1024-pixel units", lo=1)
    MAX_EYE_TILT_DEG: float = _knob(20.0, "eyes roughly level: tilt at most this", lo=0.0, hi=90.0)
    DETECT_SIZE: int | None = _knob(
        512, "long side the image is scaled to for MTCNN (none = full)", lo=64
    )
    POST_W: int = _knob(400, "final image width", lo=16)
    POST_H: int = _knob(256, "final image height", lo=16)
    JPEG_QUALITY: int = _knob(92, "JPEG quality of stored images", lo=1, hi=100)
    # --- OCR scrub -----------------------------------------------------------------------
    STRICT_NO_TEXT: bool = _knob(
        False, "blur readable text outside faces; reject if it stays readable"
    )
    TEXT_CONF_THRESH: int = _knob(60, "Tesseract word confidence counted as readable", lo=0, hi=100)
    OCR_SCALE: int = _knob(2, "upscale factor before OCR", lo=1, hi=8)
    OCR_MAX_PASSES: int = _knob(1, "blur passes before the final re-check", lo=0, hi=10)
    # --- de-duplication and store --------------------------------------------------------
    PHASH_DISTANCE_MAX: int = _knob(3, "pHash Hamming distance treated as a duplicate", lo=0, hi=32)
    SNAP_EVERY: int = _knob(50, "rewrite metadata.json every this many accepted samples", lo=1)
    KEEP_REJECTED: bool = _knob(
        False, "keep the images of rejected attempts in rejected/<bucket>/ for review"
    )
    ID_OFFSET: int = _knob(
        1_000_000_000, "added to every id, so ids never collide with DGM4's own", lo=0
    )

    # ------------------------------------------------------------------------------------
    @property
    def targets(self) -> dict[str, int]:
        """What this run builds: the targets, or with SHARD its shard's share of them."""
        if self.SHARD is None:
            return self.full_targets
        from generator.shards import parse_shard

        shard = parse_shard(self.SHARD)
        return {bucket: shard.share(t) for bucket, t in self.full_targets.items()}

    @property
    def full_targets(self) -> dict[str, int]:
        return {bucket: getattr(self, knob) for bucket, (knob, _) in BUCKETS.items()}

    @property
    def total_target(self) -> int:
        return sum(self.targets.values())

    def public_dict(self) -> dict[str, Any]:
        """Every knob as JSON-friendly values (for run logs and the dataset card)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = str(v) if isinstance(v, Path) else v
        return out

    def replace(self, **changes: Any) -> Config:
        return load_config(cli={**self.public_dict(), **changes}, env={}, toml_path=None)


# ----------------------------------------------------------------------------------------
# Loading and validation


def knob_names() -> list[str]:
    return [f.name for f in fields(Config)]


def flag_for(name: str) -> str:
    return "--" + name.lower().replace("_", "-")


def _base_type(tp: Any) -> tuple[type, bool]:
    """(underlying type, optional?) of a field annotation such as ``int | None``."""
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in args:
        inner = [a for a in args if a is not type(None)]
        return inner[0], True
    return tp, False


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_NONE = {"none", "null", ""}


def _coerce(name: str, tp: type, optional: bool, raw: Any) -> Any:
    if optional and (raw is None or (isinstance(raw, str) and raw.strip().lower() in _NONE)):
        return None
    if tp is bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
            return raw.strip().lower() in _TRUE
        raise ConfigError(name, f"expected true or false, got {raw!r}")
    if tp is int:
        if isinstance(raw, bool):
            raise ConfigError(name, f"expected an integer, got {raw!r}")
        if isinstance(raw, int):
            return raw
        if isinstance(raw, str):
            try:
                return int(raw.strip().replace("_", ""))
            except ValueError:
                pass
        raise ConfigError(name, f"expected an integer, got {raw!r}")
    if tp is float:
        if isinstance(raw, bool):
            raise ConfigError(name, f"expected a number, got {raw!r}")
        if isinstance(raw, int | float):
            return float(raw)
        if isinstance(raw, str):
            try:
                return float(raw.strip())
            except ValueError:
                pass
        raise ConfigError(name, f"expected a number, got {raw!r}")
    if tp is Path:
        if isinstance(raw, str | Path) and str(raw).strip():
            return Path(raw)
        raise ConfigError(name, f"expected a path, got {raw!r}")
    if tp is str:
        if isinstance(raw, str):
            return raw
        raise ConfigError(name, f"expected a string, got {raw!r}")
    raise AssertionError(f"unhandled type for {name}: {tp}")  # pragma: no cover


def _check(cfg: Config) -> None:
    for f in fields(Config):
        v = getattr(cfg, f.name)
        if v is None:
            continue
        meta = f.metadata
        lo, hi, choices = meta.get("lo"), meta.get("hi"), meta.get("choices")
        if choices is not None and v not in choices:
            raise ConfigError(f.name, f"must be one of {', '.join(choices)}; got {v!r}")
        if isinstance(v, bool):
            continue
        if isinstance(v, int | float) and v != v:  # NaN
            raise ConfigError(f.name, "must be a number, got NaN")
        if lo is not None and hi is not None and not (lo <= v <= hi):
            raise ConfigError(f.name, f"must be between {lo} and {hi}; got {v}")
        if lo is not None and v < lo:
            raise ConfigError(f.name, f"must be at least {lo}; got {v}")
        if hi is not None and v > hi:
            raise ConfigError(f.name, f"must be at most {hi}; got {v}")
    for bucket, (knob, _) in BUCKETS.items():
        if getattr(cfg, knob) < 0:
            raise ConfigError(
                knob, f"target for {bucket} must be 0 or more; got {getattr(cfg, knob)}"
            )
    _check_image_request(cfg)
    _check_scale_out(cfg)
    if cfg.MIN_FACES > cfg.MAX_FACES:
        raise ConfigError(
            "MIN_FACES", f"must not exceed MAX_FACES ({cfg.MIN_FACES} > {cfg.MAX_FACES})"
        )
    if not cfg.OUT_ROOT.name:
        raise ConfigError("OUT_ROOT", f"needs a folder name, got {str(cfg.OUT_ROOT)!r}")
    _check_post_size(cfg)
    _check_id_range(cfg)


#: Final images: at most this many pixels a side, and this aspect ratio either way (the crop
#: cuts POST_W x POST_H out of a roughly square picture of about 1024 pixels).
MAX_POST_SIDE = 4096
MAX_POST_ASPECT = 4.0


def _check_id_range(cfg: Config) -> None:
    """Every id (ID_OFFSET + class index x 10^8 + k) must fit the int64 the releases store."""
    top = cfg.ID_OFFSET + len(BUCKETS) * 100_000_000 - 1
    if top > 2**63 - 1:
        raise ConfigError(
            "ID_OFFSET",
            f"must be at most {2**63 - len(BUCKETS) * 100_000_000} so every id "
            f"fits in int64; got {cfg.ID_OFFSET}",
        )


def _check_post_size(cfg: Config) -> None:
    for key in ("POST_W", "POST_H"):
        if getattr(cfg, key) > MAX_POST_SIDE:
            raise ConfigError(
                key, f"must be at most {MAX_POST_SIDE} pixels; got {getattr(cfg, key)}"
            )
    w, h = cfg.POST_W, cfg.POST_H
    if max(w, h) / min(w, h) > MAX_POST_ASPECT:
        raise ConfigError(
            "POST_W",
            f"POST_W x POST_H = {w}x{h} is wider or taller than "
            f"{MAX_POST_ASPECT:g}:1; the crop cannot fill it with a person in a scene",
        )


def _check_scale_out(cfg: Config) -> None:
    """SHARD, DIFFUSERS_SIZE and DEVICE spellings (the rules live with their users)."""
    from generator.shards import check_scale_out_knobs

    check_scale_out_knobs(cfg)


def _check_image_request(cfg: Config) -> None:
    """GEN_SIZE / GEN_QUALITY against the model table; the output options against each other."""
    from generator.backends.models import check_request

    problems = check_request(cfg.GEN_MODEL, cfg.GEN_SIZE, cfg.GEN_QUALITY)
    if problems:
        key, _, message = problems[0].partition(": ")
        raise ConfigError(key, message)
    if cfg.OUTPUT_COMPRESSION is not None and cfg.OUTPUT_FORMAT == "png":
        raise ConfigError("OUTPUT_COMPRESSION", "applies to OUTPUT_FORMAT jpeg or webp, not png")


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError("--config", f"file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("--config", f"{path} is not valid TOML ({exc})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            "--config", f"{path} is not UTF-8 text (byte {exc.start}); TOML files are UTF-8"
        ) from None
    except IsADirectoryError:
        raise ConfigError("--config", f"{path} is a folder, not a TOML file") from None
    except OSError as exc:
        raise ConfigError("--config", f"{path} cannot be read ({exc.strerror})") from None
    # Either top-level knobs, or a [dgm4plus] (or pyproject-style [tool.dgm4plus]) table beside
    # other tools' tables, which are then left alone.
    tool = data.get("tool")
    table = data.get("dgm4plus")
    if table is None and isinstance(tool, dict) and isinstance(tool.get("dgm4plus"), dict):
        table = tool["dgm4plus"]
    if table is None:
        return data
    if not isinstance(table, dict):
        raise ConfigError("dgm4plus", f"{path}: expected a [dgm4plus] table of knobs")
    stray = [k for k, v in data.items() if k != "dgm4plus" and not isinstance(v, dict)]
    if stray:
        raise ConfigError(
            stray[0], f"{path}: a top-level key beside a [dgm4plus] table; move it into the table"
        )
    return dict(table)


def load_config(
    cli: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    toml_path: Path | str | None = None,
) -> Config:
    """Merge defaults < preset (``PRESET``, from any source) < TOML < environment < CLI and validate.

    ``cli`` maps knob names to raw values (strings or typed); ``None`` values are ignored.
    ``env`` is usually ``os.environ``; only ``DGM4PLUS_<KNOB>`` keys are read.
    """
    by_lower = {name.lower(): name for name in knob_names()}
    raw: dict[str, Any] = {}
    if toml_path is not None:
        for key, value in read_toml(Path(toml_path)).items():
            name = by_lower.get(str(key).lower())
            if name is None:
                raise ConfigError(
                    str(key), f"unknown key in {toml_path}; known keys: {', '.join(knob_names())}"
                )
            raw[name] = value
    for key, value in (env or {}).items():
        if key.startswith(ENV_PREFIX):
            name = by_lower.get(key[len(ENV_PREFIX) :].lower())
            if name is None:
                raise ConfigError(key, "unknown DGM4PLUS_ environment variable")
            raw[name] = value
    for key, value in (cli or {}).items():
        if value is not None:
            raw[key] = value
    if raw.get("PRESET") is not None:  # defaults < preset < TOML < env < flags
        name = str(raw["PRESET"]).strip()
        try:
            raw = {**preset_values(name), **raw, "PRESET": name}
        except KeyError:
            raise ConfigError(
                "PRESET", f"must be one of {', '.join(PRESET_NAMES)}; got {name!r}"
            ) from None
    hints = typing.get_type_hints(Config)
    values: dict[str, Any] = {}
    for name, value in raw.items():
        tp, optional = _base_type(hints[name])
        values[name] = _coerce(name, tp, optional, value)
    cfg = Config(**values)
    _check(cfg)
    return cfg


def help_lines() -> list[tuple[str, str, Any]]:
    """(knob, help, default) for documentation."""
    return [(f.name, f.metadata["help"], f.default) for f in fields(Config)]


__all__ = ["BUCKETS", "Config", "ConfigError", "load_config", "knob_names", "flag_for"]
