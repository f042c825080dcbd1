"""The gpt-image-1 backend (OpenAI Images API).

The SDK's own retries are switched off (``max_retries=0``): this module retries transient
failures itself so that every HTTP attempt takes one unit of the :class:`CallBudget` before it
is sent. Nothing here ever puts the API key in a message, a repr or a log line.
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

from .base import (
    BudgetExhausted,
    CallBudget,
    CallFailed,
    ImageRequest,
    MissingCredentials,
    Refused,
)

__all__ = ["OpenAIBackend", "missing_key_message"]

log = logging.getLogger(__name__)

# Anything that looks like an OpenAI key is masked in messages, on top of the exact key.
_KEY_PATTERN = re.compile(r"sk-[A-Za-z0-9_\-]{6,}")
_MAX_DETAIL = 300


def missing_key_message() -> str:
    return (
        "OPENAI_API_KEY is not set: export OPENAI_API_KEY (or pass api_key) to generate images "
        "with gpt-image-1, or use the offline backend with `--backend composite`."
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
        model: str = "gpt-image-1",
        size: str = "1024x1024",
        quality: str = "low",
        *,
        budget: CallBudget,
        max_retries: int = 4,
        timeout: float = 120.0,
        backoff_base: float = 1.0,
        backoff_max: float = 30.0,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        key = _resolve_key(api_key)
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        self.model = model
        self.size = size
        self.quality = quality
        self.budget = budget
        self.max_retries = max_retries
        self.timeout = timeout
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()
        self._secret = key
        self._client = openai.AsyncOpenAI(
            api_key=key, base_url=base_url, max_retries=0, timeout=timeout
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

    def __repr__(self) -> str:
        return (
            f"OpenAIBackend(model={self.model!r}, size={self.size!r}, quality={self.quality!r}, "
            f"base_url={_redact_url(self.base_url)!r}, calls={self.calls}, retries={self.retries})"
        )

    def _redact(self, text: str) -> str:
        if len(self._secret) >= 8:  # (a very short test key would mangle every message)
            text = text.replace(self._secret, "***")
        return _KEY_PATTERN.sub("sk-***", text)

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

    async def generate(self, req: ImageRequest) -> bytes:
        where = f"{req.plan_key} attempt {req.attempt}"
        tries = 0
        while True:
            if not self.budget.try_acquire():
                raise BudgetExhausted(
                    f"{where}: MAX_IMAGE_CALLS budget of {self.budget.max_calls} image calls "
                    "is spent"
                )
            self.calls += 1
            tries += 1
            retry_after: float | None = None
            try:
                response = await self._client.images.generate(
                    model=self.model,
                    prompt=req.prompt,
                    size=self.size,
                    quality=self.quality,
                    n=1,
                )
            except openai.BadRequestError as exc:
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
                retry_after = _retry_after_seconds(exc.response.headers)
                last = self._describe(exc)
                status, code = exc.status_code, exc.code
            except openai.APIStatusError as exc:
                if exc.status_code < 500 and exc.status_code not in (408, 409):
                    self.failures += 1
                    raise CallFailed(
                        f"{where}: {self._describe(exc)}", status=exc.status_code, code=exc.code
                    ) from None
                last = self._describe(exc)
                status, code = exc.status_code, exc.code
            except openai.APIConnectionError as exc:  # includes APITimeoutError
                last = self._describe(exc)
                status, code = None, "timeout" if isinstance(exc, openai.APITimeoutError) else None
            except openai.OpenAIError as exc:  # e.g. a response that fails validation
                self.failures += 1
                raise CallFailed(f"{where}: {self._describe(exc)}") from None
            else:
                return await self._decode(response, where)

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
            await self._sleep(delay)

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
