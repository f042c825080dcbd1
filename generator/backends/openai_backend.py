"""The OpenAI Images API backend (today's GPT image models; see ``models.py``).

The SDK's own retries are switched off (``max_retries=0``) and so are HTTP redirects
(``follow_redirects=False``): this module retries transient failures itself so that every HTTP
request that reaches the network takes one unit of the :class:`CallBudget` (and holds its worst
case against ``MAX_COST``) before it is sent; a gateway that answers with a redirect is refused
with one line instead of being followed outside the budget. Each answer's ``usage`` is priced by
the model table; a failed attempt without usage costs 0. Requests are paced by a shared
:class:`~generator.backends.pacing.Pacer`. Nothing here ever puts the API key in a message, a
repr or a log line.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import email.utils
import io
import logging
import os
import random
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import openai
from PIL import Image

from generator import redact

from .base import (
    BudgetExhausted,
    CallBudget,
    CallFailed,
    Generated,
    ImageRequest,
    MissingCredentials,
    Refused,
    Ticket,
    Usage,
)
from .models import Pricer, require_usable
from .pacing import Pacer

__all__ = ["OpenAIBackend", "missing_key_message", "usage_of"]

log = logging.getLogger(__name__)

# Anything that looks like an OpenAI key is masked in messages, on top of the exact key.
_KEY_PATTERN = re.compile(r"sk-[A-Za-z0-9_\-]{6,}")
_MAX_DETAIL = 300


def missing_key_message() -> str:
    return (
        "OPENAI_API_KEY is not set: export OPENAI_API_KEY (or pass api_key) to generate images "
        "with OpenAI's image models, or use the offline backend with `--backend composite`."
    )


class OpenAIBackend:
    """Generate images with the OpenAI Images API, counting every attempt against a budget.

    Transient failures (429, 5xx, timeouts, connection errors) are retried up to
    ``max_retries`` times with exponential backoff and jitter (a 429's Retry-After is honoured,
    capped at ``backoff_max``). A ``moderation_blocked`` refusal raises :class:`Refused` at once;
    other 4xx, undecodable payloads and exhausted retries raise :class:`CallFailed`; an empty
    budget raises :class:`BudgetExhausted`.
    """

    name = "openai"

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        model: str = "gpt-image-2",
        size: str = "1024x1024",
        quality: str = "low",
        *,
        budget: CallBudget,
        output_format: str | None = None,
        output_compression: int | None = None,
        moderation: str | None = None,
        price_per_image: float | None = None,
        pacer: Pacer | None = None,
        notice: Callable[[str], Any] | None = None,
        max_retries: int = 4,
        timeout: float = 120.0,
        backoff_base: float = 1.0,
        backoff_max: float = 30.0,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        key = _resolve_key(api_key)
        redact.register(key)
        redact.install()  # every log record (openai, httpx2, httpcore2...) masked from here on
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        info = require_usable(model)  # a shut-down model: one line, before any call
        self.pricer = Pricer(model, size, quality, price_per_image=price_per_image)
        if info is None:
            line = (
                f"GEN_MODEL {model} is not in the model table: it is sent as is; its cost is "
                + (
                    "unknown (give --price-per-image to count it)"
                    if price_per_image is None
                    else f"counted at --price-per-image ${price_per_image:.4f}"
                )
            )
            (notice or _notice)(line)
        if budget.max_cost is not None and not self.pricer.can_price:
            from generator.errors import ConfigError

            raise ConfigError(
                "MAX_COST",
                f"cannot cap the cost of {model}, which the model "
                "table does not price: give --price-per-image too",
            )
        self.output_format = output_format
        self.output_compression = output_compression
        self.moderation = moderation
        self.model = model
        self.size = size
        self.quality = quality
        self.budget = budget
        self.max_retries = max_retries
        self.timeout = timeout
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._sleep = sleep
        self.pacer = pacer if pacer is not None else Pacer(None, sleep=sleep)
        self._rng = rng if rng is not None else random.Random()
        self._secret = key
        self.http_requests = 0  # requests that reached the network (every one budgeted)
        http_client = openai.DefaultAsyncHttpxClient(
            follow_redirects=False, event_hooks={"request": [self._count_request]}
        )
        self._client = openai.AsyncOpenAI(
            api_key=key,
            base_url=base_url,
            max_retries=0,
            timeout=timeout,
            http_client=http_client,
        )
        self.base_url = str(self._client.base_url)
        # Counters (read by the pipeline's run statistics).
        self.calls = 0  # HTTP attempts sent
        self.retries = 0  # attempts that were retries of a transient failure
        self.refusals = 0
        self.failures = 0  # CallFailed raised
        self.sleep_seconds = 0.0  # total backoff asked for

    # -- credentials ---------------------------------------------------------------------------

    @staticmethod
    def check_credentials(api_key: str | None = None) -> None:
        """Raise MissingCredentials unless a key is given or ``OPENAI_API_KEY`` is set.

        Call it before a run starts to fail fast; the message names OPENAI_API_KEY and the
        offline alternative, never a key (nothing is returned, so nothing can be logged).
        """
        _resolve_key(api_key)

    # -- helpers -------------------------------------------------------------------------------

    async def _count_request(self, request: Any) -> None:
        self.http_requests += 1

    def __repr__(self) -> str:
        return (
            f"OpenAIBackend(model={self.model!r}, size={self.size!r}, quality={self.quality!r}, "
            f"base_url={_redact_url(self.base_url)!r}, calls={self.calls}, retries={self.retries})"
        )

    def _redact(self, text: str) -> str:
        if len(self._secret) >= 8:  # (a very short test key would mangle every message)
            text = text.replace(self._secret, "***")
        return redact.mask(_KEY_PATTERN.sub("sk-***", text))

    def _describe(self, exc: BaseException) -> str:
        """A short, secret-free description of an SDK exception."""
        parts = [type(exc).__name__]
        status = getattr(exc, "status_code", None)
        if status is not None:
            parts.append(f"HTTP {status}")
        code = getattr(exc, "code", None)
        if code:
            parts.append(f"code={code}")
        detail = None
        body = getattr(exc, "body", None)
        if isinstance(body, dict):
            detail = body.get("message")
        if not detail:
            detail = getattr(exc, "message", None) or str(exc)
        detail = " ".join(str(detail).split())[:_MAX_DETAIL]
        request_id = getattr(exc, "request_id", None)
        text = " ".join(parts) + f": {detail}"
        if request_id:
            text += f" (request id {request_id})"
        return self._redact(text)

    def _backoff(self, retry_index: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.backoff_max)
        ceiling = min(self.backoff_max, self.backoff_base * (2.0**retry_index))
        return ceiling * (0.5 + 0.5 * self._rng.random())

    # -- the call ------------------------------------------------------------------------------

    def _params(self, req: ImageRequest) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self.model,
            "prompt": req.prompt,
            "size": self.size,
            "quality": self.quality,
            "n": 1,
        }
        if self.output_format is not None:
            params["output_format"] = self.output_format
        if self.output_compression is not None:
            params["output_compression"] = self.output_compression
        if self.moderation is not None:
            params["moderation"] = self.moderation
        return params

    def worst_case_usd(self, req: ImageRequest) -> float:
        return self.pricer.worst_case(req.prompt) or 0.0

    async def generate(self, req: ImageRequest) -> Generated:
        where = f"{req.plan_key} attempt {req.attempt}"
        tries = 0
        while True:
            await self.pacer.acquire()
            ticket = self.budget.reserve(self.worst_case_usd(req))
            if ticket is None:
                self.pacer.on_answer()  # (a probe that is never sent must not hold the others)
                cap = self.budget.refused_by or "MAX_IMAGE_CALLS"
                raise BudgetExhausted(f"{where}: {self.budget.cap_message()}", code=cap)
            self.calls += 1
            tries += 1
            retry_after: float | None = None
            status: int | None
            try:
                try:
                    raw = await self._client.images.with_raw_response.generate(**self._params(req))
                finally:
                    self.pacer.on_answer()
                response = raw.parse()
            except openai.BadRequestError as exc:
                self._settle_failed(ticket, exc)
                if exc.code == "moderation_blocked":
                    self.refusals += 1
                    raise Refused(
                        f"{where}: refused by moderation ({self._describe(exc)})",
                        status=400,
                        code=exc.code,
                    ) from None
                self.failures += 1
                raise CallFailed(
                    f"{where}: {self._describe(exc)}", status=400, code=exc.code
                ) from None
            except openai.RateLimitError as exc:
                self._settle_failed(ticket, exc)
                retry_after = _retry_after_seconds(exc.response.headers)
                self.pacer.on_headers(exc.response.headers)
                self.pacer.on_rate_limited(self._backoff(tries - 1, retry_after))
                last = self._describe(exc)
                status, code = exc.status_code, exc.code
            except openai.APIStatusError as exc:
                self._settle_failed(ticket, exc)
                if 300 <= exc.status_code < 400:
                    self.failures += 1
                    target = _redact_url(str(exc.response.headers.get("location", "?")))
                    raise CallFailed(
                        f"{where}: the server at {_redact_url(self.base_url)} answered HTTP "
                        f"{exc.status_code} redirecting to {target}; redirects are not followed "
                        "(each hop would be a request outside MAX_IMAGE_CALLS): set "
                        "OPENAI_BASE_URL to the final address",
                        status=exc.status_code,
                        code="redirect_refused",
                    ) from None
                if exc.status_code < 500 and exc.status_code not in (408, 409):
                    self.failures += 1
                    raise CallFailed(
                        f"{where}: {self._describe(exc)}", status=exc.status_code, code=exc.code
                    ) from None
                last = self._describe(exc)
                status, code = exc.status_code, exc.code
            except openai.APIConnectionError as exc:  # includes APITimeoutError
                self.budget.settle(ticket, 0.0, "usage")
                last = self._describe(exc)
                status, code = None, "timeout" if isinstance(exc, openai.APITimeoutError) else None
            except openai.OpenAIError as exc:  # e.g. a response that fails validation
                self.budget.settle(ticket, 0.0, "usage")
                self.failures += 1
                raise CallFailed(f"{where}: {self._describe(exc)}") from None
            else:
                self.pacer.on_headers(raw.headers)
                self.pacer.on_success()
                usage = usage_of(response)
                cost, basis = self.pricer.of_usage(usage)
                self.budget.settle(ticket, cost, basis)
                data = await self._decode(response, where)
                return Generated(
                    data=data, model=self.model, usage=usage, cost_usd=cost, cost_basis=basis
                )

            if tries > self.max_retries:
                self.failures += 1
                raise CallFailed(
                    f"{where}: gave up after {tries} attempts; last error: {last}",
                    status=status,
                    code=code,
                )
            delay = self._backoff(tries - 1, retry_after)
            log.info("%s: transient failure (%s); retrying in %.2f s", where, last, delay)
            self.retries += 1
            self.sleep_seconds += delay
            if status == 429:
                continue  # the pacer pauses every worker (this one too) until Retry-After
            await self._sleep(delay)

    def _settle_failed(self, ticket: Ticket, exc: openai.APIStatusError) -> None:
        """An error answer: billed only if it carries usage (OpenAI bills none of them)."""
        body = exc.body if isinstance(exc.body, dict) else {}
        raw_usage = body.get("usage")
        usage = _usage_from_dict(raw_usage) if isinstance(raw_usage, dict) else None
        cost = self.pricer.of_usage(usage)[0] if usage is not None else 0.0
        self.budget.settle(ticket, cost, "usage")

    async def _decode(self, response: Any, where: str) -> bytes:
        data = getattr(response, "data", None) or []
        b64 = getattr(data[0], "b64_json", None) if data else None
        if not b64:
            self.failures += 1
            raise CallFailed(f"{where}: the response holds no b64_json image")
        try:
            return await asyncio.to_thread(_decode_image, b64)
        except ValueError as exc:
            self.failures += 1
            raise CallFailed(f"{where}: {exc}") from None

    async def aclose(self) -> None:
        await self._client.close()

    async def __aenter__(self) -> OpenAIBackend:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _notice(line: str) -> None:
    import sys

    print(f"dgm4plus: note: {line}", file=sys.stderr)


def _usage_from_dict(d: dict[str, Any]) -> Usage | None:
    try:
        inp = int(d.get("input_tokens") or 0)
        out = int(d.get("output_tokens") or 0)
        idet = d.get("input_tokens_details") or {}
        odet = d.get("output_tokens_details") or {}
        in_img = int(idet.get("image_tokens") or 0) if isinstance(idet, dict) else 0
        out_txt = int(odet.get("text_tokens") or 0) if isinstance(odet, dict) else 0
    except (TypeError, ValueError, AttributeError):
        return None
    in_img = min(in_img, inp)
    out_txt = min(out_txt, out)
    return Usage(
        input_text_tokens=inp - in_img,
        input_image_tokens=in_img,
        output_image_tokens=out - out_txt,
        output_text_tokens=out_txt,
    )


def usage_of(response: Any) -> Usage | None:
    """The ``usage`` of an images response (an SDK object or a parsed JSON dict)."""
    u = response.get("usage") if isinstance(response, dict) else getattr(response, "usage", None)
    if u is None:
        return None
    if not isinstance(u, dict):
        u = u.model_dump() if hasattr(u, "model_dump") else dict(vars(u))
    return _usage_from_dict(u)


def _resolve_key(api_key: str | None) -> str:
    """The key to use: the argument, else ``OPENAI_API_KEY``; MissingCredentials when blank."""
    key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
    if key is None or not key.strip():
        raise MissingCredentials(missing_key_message())
    return key.strip()


def _decode_image(b64: str) -> bytes:
    """Base64 text -> image bytes that PIL fully decodes; ValueError otherwise."""
    try:
        raw = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("b64_json is not valid base64") from None
    try:
        with Image.open(io.BytesIO(raw)) as im:
            im.load()
            if im.width < 1 or im.height < 1:
                raise ValueError("empty image")
    except Exception as exc:  # PIL raises many types for corrupt data
        raise ValueError(
            f"the returned bytes are not a decodable image ({type(exc).__name__})"
        ) from None
    return raw


def _retry_after_seconds(headers: Any) -> float | None:
    """Seconds asked for by ``retry-after-ms`` / ``retry-after`` (number or HTTP date)."""
    try:
        ms = headers.get("retry-after-ms")
        if ms is not None:
            return float(ms) / 1000.0
    except (TypeError, ValueError):
        pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _redact_url(url: str) -> str:
    """Drop any user:password@ part of a URL."""
    return re.sub(r"//[^/@]*@", "//***@", url)
