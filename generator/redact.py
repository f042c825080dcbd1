"""Secrets never reach a log line or a printed message.

:func:`mask` replaces every known secret (the values of ``OPENAI_API_KEY``, ``HF_TOKEN`` and
``HUGGING_FACE_HUB_TOKEN``, plus any key registered with :func:`register`) and anything shaped
like an OpenAI or Hugging Face key. :func:`install` makes every log record of every logger go
through it at creation time, so the ``openai``, ``httpx2``/``httpcore2`` (and ``httpx`` /
``httpcore``) loggers are masked whatever handler prints them, including the one the SDK
installs itself when ``OPENAI_LOG=debug`` (it prints the ``x-request-id`` a server sends back,
and servers have been seen to echo the key there).
"""

from __future__ import annotations

import logging
import os
import re
import threading
from typing import Any

__all__ = ["install", "mask", "register"]

SECRET_ENV = ("OPENAI_API_KEY", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")
_PATTERNS = (
    re.compile(r"sk-[A-Za-z0-9_\-]{6,}"),  # OpenAI keys (sk-..., sk-proj-...)
    re.compile(r"hf_[A-Za-z0-9]{10,}"),  # Hugging Face tokens
)
_MIN_LEN = 8  # a shorter "secret" would mangle ordinary words
_registered: set[str] = set()
_lock = threading.Lock()
_installed = False


def register(secret: str | None) -> None:
    """Mask this value too (e.g. an ``api_key=`` passed in code rather than the environment)."""
    if secret and len(secret.strip()) >= _MIN_LEN:
        with _lock:
            _registered.add(secret.strip())


def _secrets() -> list[str]:
    values = {os.environ.get(name, "").strip() for name in SECRET_ENV} | _registered
    return sorted((v for v in values if len(v) >= _MIN_LEN), key=len, reverse=True)


def mask(text: str) -> str:
    for value in _secrets():
        if value in text:
            text = text.replace(value, "***")
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(0)[:3] + "***", text)
    return text


def _masked_record(factory: Any) -> Any:
    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = factory(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string is the logger's problem
            return record
        record.msg, record.args = mask(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
        return record

    make._dgm4plus_mask = True  # type: ignore[attr-defined]
    return make


def install() -> None:
    """Mask every log record from now on (idempotent)."""
    global _installed
    with _lock:
        factory = logging.getLogRecordFactory()
        if _installed or getattr(factory, "_dgm4plus_mask", False):
            _installed = True
            return
        logging.setLogRecordFactory(_masked_record(factory))
        _installed = True
