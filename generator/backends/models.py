"""The OpenAI image model table: status, accepted sizes and qualities, dated per-token prices.

First source for names, parameters and shut-down dates: the pinned SDK's own types
(``openai/types/image_model.py`` and ``image_generate_params.py``, openai 3.51, read on
2026-12-01; 3.57 says the same). Where this table says more than the SDK does, the entry says
where it comes from (``source``). Prices are per token, as OpenAI bills GPT image models, and are
dated; the figures for the current families are resellers' reports, not an OpenAI price page
(``verified=False``): the cost of a run is computed from each response's ``usage`` with them.

A name not in the table is passed through (new models appear often); its cost is unknown unless
``PRICE_PER_IMAGE`` is given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from generator.backends.base import Usage
from generator.errors import UsageError

__all__ = [
    "BATCH_DISCOUNT",
    "MODELS",
    "STANDARD_SIZES",
    "ModelInfo",
    "ModelUnavailable",
    "Pricer",
    "TokenPrices",
    "check_request",
    "estimate_tokens",
    "lookup",
    "parse_size",
    "require_usable",
    "shutdown_message",
]

#: Sizes every GPT image model accepts (image_generate_params.py, ``size``).
STANDARD_SIZES = ("1024x1024", "1536x1024", "1024x1536")
#: Qualities of every GPT image model; xhigh/max only where ``ModelInfo.qualities`` says so.
BASE_QUALITIES = ("low", "medium", "high", "auto")
#: The Batch API bills requests at half the synchronous price (DESIGN.md, "Batch API").
BATCH_DISCOUNT = 0.5
#: Arbitrary sizes (SDK, ``size``): both sides divisible by 16, aspect 1:3 to 3:1, at most
#: 3840x2160 pixels in all; above 2560x1440 is "experimental".
SIZE_MULTIPLE = 16
MAX_ASPECT = 3.0
MAX_PIXELS = 3840 * 2160
MAX_EDGE = 3840
EXPERIMENTAL_PIXELS = 2560 * 1440

_SDK = "openai 3.51 types/image_model.py + image_generate_params.py (read 2026-12-01)"
_DESIGN = "DESIGN.md 'OpenAI image API and SDK' (checked 2026-12-01); not in the SDK docstrings"


class ModelUnavailable(UsageError):
    """The configured model is shut down: one line, exit 2, before any call."""


@dataclass(frozen=True)
class TokenPrices:
    """US dollars per 1M tokens, as of ``as_of``, from ``source``."""

    text_input: float
    image_input: float
    image_output: float
    as_of: str
    source: str
    verified: bool

    def cost(self, text_in: int, image_in: int, image_out: int) -> float:
        return (
            text_in * self.text_input + image_in * self.image_input + image_out * self.image_output
        ) / 1_000_000


#: Reported for gpt-image-2 and the 2.5 / 2.6 families (DESIGN.md; resellers' price lists).
_CURRENT_PRICES = TokenPrices(
    text_input=5.0,
    image_input=8.0,
    image_output=30.0,
    as_of="2026-12-01",
    source="resellers' reported list prices (DESIGN.md); unverified on an OpenAI price page",
    verified=False,
)


@dataclass(frozen=True)
class ModelInfo:
    name: str
    qualities: tuple[str, ...]
    arbitrary_sizes: bool  # any WxH within the rules above, besides the standard sizes
    prices: TokenPrices | None
    shutdown: date | None = None  # on and after this date the model answers 404
    replacement: str | None = None
    source: str = _SDK
    note: str = ""

    def is_shut_down(self, today: date | None = None) -> bool:
        return self.shutdown is not None and (today or _today()) >= self.shutdown


_XQ = (*BASE_QUALITIES, "xhigh", "max")
_GPT1_ADVICE = "gpt-image-2.5-sunburst or gpt-image-2.5-flare (the SDK's advice), or gpt-image-2"


def _m(name: str, **kw: object) -> tuple[str, ModelInfo]:
    return name, ModelInfo(name=name, **kw)  # type: ignore[arg-type]


MODELS: dict[str, ModelInfo] = dict(
    [
        # -- current ---------------------------------------------------------------------
        _m(
            "gpt-image-2",
            qualities=BASE_QUALITIES,
            arbitrary_sizes=True,
            prices=_CURRENT_PRICES,
            note="OpenAI's named successor of gpt-image-1; this project's default",
        ),
        _m(
            "gpt-image-2-2026-04-21",
            qualities=BASE_QUALITIES,
            arbitrary_sizes=True,
            prices=_CURRENT_PRICES,
            note="snapshot of gpt-image-2",
        ),
        _m("gpt-image-2.5-sunburst", qualities=_XQ, arbitrary_sizes=True, prices=_CURRENT_PRICES),
        _m(
            "gpt-image-2.5-sunburst-2026-09-08",
            qualities=_XQ,
            arbitrary_sizes=True,
            prices=_CURRENT_PRICES,
            note="snapshot",
        ),
        _m(
            "gpt-image-2.5-flare",
            qualities=_XQ,
            arbitrary_sizes=True,
            prices=_CURRENT_PRICES,
            note="fast tier",
        ),
        _m(
            "gpt-image-2.5-flare-2026-09-08",
            qualities=_XQ,
            arbitrary_sizes=True,
            prices=_CURRENT_PRICES,
            note="snapshot, fast tier",
        ),
        # The SDK names no arbitrary sizes and no xhigh/max for the 2.6 family (Nov 2026).
        _m(
            "gpt-image-2.6-sunburst",
            qualities=BASE_QUALITIES,
            arbitrary_sizes=False,
            prices=_CURRENT_PRICES,
        ),
        _m(
            "gpt-image-2.6-flare",
            qualities=BASE_QUALITIES,
            arbitrary_sizes=False,
            prices=_CURRENT_PRICES,
            note="fast tier",
        ),
        # -- shut down -------------------------------------------------------------------
        _m(
            "gpt-image-1",
            qualities=BASE_QUALITIES,
            arbitrary_sizes=False,
            prices=None,
            shutdown=date(2026, 10, 23),
            replacement=_GPT1_ADVICE,
            note="the seed's model",
        ),
        _m(
            "gpt-image-1-mini",
            qualities=BASE_QUALITIES,
            arbitrary_sizes=False,
            prices=None,
            shutdown=date(2026, 12, 1),
            replacement="gpt-image-2",
            source=_DESIGN,
        ),
        _m(
            "gpt-image-1.5",
            qualities=BASE_QUALITIES,
            arbitrary_sizes=False,
            prices=None,
            shutdown=date(2026, 12, 1),
            replacement="gpt-image-2",
            source=_DESIGN,
        ),
        _m(
            "chatgpt-image-latest",
            qualities=BASE_QUALITIES,
            arbitrary_sizes=False,
            prices=None,
            shutdown=date(2026, 12, 1),
            replacement="gpt-image-2",
            source=_DESIGN,
        ),
        _m(
            "dall-e-2",
            qualities=("standard",),
            arbitrary_sizes=False,
            prices=None,
            shutdown=date(2026, 5, 12),
            replacement="a GPT image model such as gpt-image-2",
        ),
        _m(
            "dall-e-3",
            qualities=("standard", "hd"),
            arbitrary_sizes=False,
            prices=None,
            shutdown=date(2026, 5, 12),
            replacement="a GPT image model such as gpt-image-2",
        ),
    ]
)

#: Output image tokens per image at 1024x1024 by quality. OpenAI published these for
#: gpt-image-1 (2025 image generation guide: low 272, medium 1056, high 4160); no per-size
#: token figures are published for the current models, so they serve as the *estimate* until a
#: store has measured usage. Other sizes scale with the pixel count. xhigh and max have no
#: published figure: assumed 2x and 4x high (an assumption, stated in the README).
_TOKENS_1024 = {"low": 272, "medium": 1056, "high": 4160, "xhigh": 8320, "max": 16640}
#: "auto" may pick any quality: priced as the most expensive one the model accepts.
_SIZE_RE = re.compile(r"^([1-9][0-9]{1,4})x([1-9][0-9]{1,4})$")


def _today() -> date:
    return datetime.now(UTC).date()


def lookup(model: str) -> ModelInfo | None:
    return MODELS.get(model)


def shutdown_message(info: ModelInfo) -> str:
    assert info.shutdown is not None
    return (
        f"GEN_MODEL: {info.name} was shut down on {info.shutdown.isoformat()} (its requests "
        f"answer 404 model_not_found); use {info.replacement}, e.g. --gen-model gpt-image-2"
    )


def require_usable(model: str, today: date | None = None) -> ModelInfo | None:
    """The table entry for ``model`` (None when unknown); ModelUnavailable when shut down."""
    info = lookup(model)
    if info is not None and info.is_shut_down(today):
        raise ModelUnavailable(shutdown_message(info))
    return info


def parse_size(size: str) -> tuple[int, int] | None:
    m = _SIZE_RE.match(size)
    return (int(m.group(1)), int(m.group(2))) if m else None


def check_request(model: str, size: str, quality: str) -> list[str]:
    """Problems with (size, quality) for ``model``, as knob-named lines; [] when acceptable.

    Unknown models: only the ``WxH`` syntax and the SDK's quality names are checked.
    """
    info = lookup(model)
    problems: list[str] = []
    wh = parse_size(size)
    if wh is None:
        problems.append(f"GEN_SIZE: expected WIDTHxHEIGHT such as 1024x1024; got {size!r}")
    elif info is not None and size not in STANDARD_SIZES:
        w, h = wh
        if not info.arbitrary_sizes:
            problems.append(
                f"GEN_SIZE: {model} accepts only {', '.join(STANDARD_SIZES)}; got {size!r}"
            )
        elif w % SIZE_MULTIPLE or h % SIZE_MULTIPLE:
            problems.append(
                f"GEN_SIZE: both sides must be divisible by 16 for {model}; got {size!r}"
            )
        elif max(w, h) > MAX_ASPECT * min(w, h):
            problems.append(f"GEN_SIZE: the aspect ratio must be between 1:3 and 3:1; got {size!r}")
        elif w * h > MAX_PIXELS or max(w, h) > MAX_EDGE:
            problems.append(f"GEN_SIZE: at most 3840x2160 pixels (and 3840 a side); got {size!r}")
    known_q = info.qualities if info is not None else (*_XQ,)
    if quality not in known_q:
        problems.append(f"GEN_QUALITY: {model} accepts {', '.join(known_q)}; got {quality!r}")
    return problems


def size_notice(size: str) -> str | None:
    wh = parse_size(size)
    if wh and wh[0] * wh[1] > EXPERIMENTAL_PIXELS:
        return f"GEN_SIZE {size}: sizes above 2560x1440 are experimental (SDK docstring)"
    return None


def estimate_tokens(model: str, size: str, quality: str) -> int:
    """Output image tokens of one image by the table (see ``_TOKENS_1024``)."""
    info = lookup(model)
    if quality == "auto":
        accepted = info.qualities if info is not None else BASE_QUALITIES
        quality = max((q for q in accepted if q in _TOKENS_1024), key=_TOKENS_1024.__getitem__)
    per_1024 = _TOKENS_1024.get(quality, _TOKENS_1024["high"])
    wh = parse_size(size) or (1536, 1024)
    return max(1, round(per_1024 * wh[0] * wh[1] / (1024 * 1024)))


# ----------------------------------------------------------------------------------------
# Pricing


@dataclass(frozen=True)
class Pricer:
    """Prices calls of one (model, size, quality), synchronous or at the batch price.

    ``price_per_image`` (the ``PRICE_PER_IMAGE`` knob) prices a model the table does not know;
    a known model is always priced by its table entry.
    """

    model: str
    size: str
    quality: str
    price_per_image: float | None = None
    batch: bool = False

    @property
    def prices(self) -> TokenPrices | None:
        info = lookup(self.model)
        return info.prices if info is not None else None

    @property
    def factor(self) -> float:
        return BATCH_DISCOUNT if self.batch else 1.0

    @property
    def can_price(self) -> bool:
        return self.prices is not None or self.price_per_image is not None

    def of_usage(self, usage: Usage | None) -> tuple[float, str]:
        """(dollars, basis) of one answered call; basis is one of base.COST_BASES."""
        prices = self.prices
        if prices is not None and usage is not None:
            usd = prices.cost(
                usage.input_text_tokens,
                usage.input_image_tokens,
                usage.output_image_tokens + usage.output_text_tokens,
            )
            return usd * self.factor, "usage"
        est = self.estimate()
        if est is None:
            return 0.0, "unknown"
        return est, "estimate"

    def estimate(self, prompt_tokens: int = 60) -> float | None:
        """Expected dollars of one image by the table (or ``price_per_image``); None if unknown."""
        prices = self.prices
        if prices is None:
            return None if self.price_per_image is None else self.price_per_image * self.factor
        out = estimate_tokens(self.model, self.size, self.quality)
        return prices.cost(prompt_tokens, 0, out) * self.factor

    def per_token_estimate(self, mean_input: float, mean_output: float) -> float | None:
        """Dollars of one image at measured mean tokens (input taken as text)."""
        prices = self.prices
        if prices is None:
            return self.estimate()
        return prices.cost(round(mean_input), 0, round(mean_output)) * self.factor

    def worst_case(self, prompt: str) -> float | None:
        """An upper bound of one call's cost, held against MAX_COST before it is sent.

        Input: at most one token per UTF-8 byte of the prompt. Output: twice the table's
        tokens for this size and quality (the table is an estimate for the current models).
        A user's ``price_per_image`` is taken as exact. None when the cost is unknown.
        """
        prices = self.prices
        if prices is None:
            return None if self.price_per_image is None else self.price_per_image * self.factor
        out = 2 * estimate_tokens(self.model, self.size, self.quality)
        return prices.cost(len(prompt.encode()), 0, out) * self.factor
