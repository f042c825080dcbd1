"""What the user sees on stderr: log lines, one-time notices and whether progress bars show.

Every line goes through one logging handler that writes with ``tqdm.write``, so a warning printed
while a progress bar is drawn appears on its own line above the bar instead of glued to it. The CLI
calls :func:`configure` once per run (``-v``, ``-q``, ``--no-progress``); library users get the
same handler, at the default verbosity, the first time a line is written.

Verbosity: ``-q`` errors only; default warnings and notices; ``-v`` also info (the OpenAI SDK's
and our own retry messages); ``-vv`` debug. Secrets found in the environment are masked in every
line this handler writes (:func:`generator.redact.mask`).
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass

#: Loggers whose lines reach the user: ours and the OpenAI SDK's (its retries are logged at INFO).
LOGGERS = ("dgm4plus", "generator", "openai")
#: A logging level between INFO and WARNING for notices: shown by default, hidden by ``-q``.
NOTICE = 25
logging.addLevelName(NOTICE, "NOTICE")

_log = logging.getLogger("dgm4plus")


@dataclass
class _State:
    verbosity: int = 0
    progress: bool = True
    configured: bool = False


_state = _State()
_seen: set[str] = set()


def _mask(text: str) -> str:
    from generator.redact import mask  # the one masking rule (env secrets, key-shaped strings)

    return mask(text)


class TqdmHandler(logging.Handler):
    """Writes each record with ``tqdm.write`` to the current ``sys.stderr``."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = _mask(self.format(record))
            from tqdm import tqdm

            tqdm.write(line, file=sys.stderr)
        except Exception:  # noqa: BLE001 - logging must never end the run
            self.handleError(record)


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage()
        if record.exc_info and _state.verbosity >= 2:
            msg += "\n" + self.formatException(record.exc_info)
        ours = record.name.split(".", 1)[0] in ("dgm4plus", "generator")
        prefix = "dgm4plus" if ours else record.name.split(".", 1)[0]
        if record.levelno >= logging.ERROR:
            prefix += ": error"
        return f"{prefix}: {msg}"


def level_for(verbosity: int) -> int:
    """The logging level for a verbosity (-1 quiet, 0 default, 1 -v, 2+ -vv)."""
    if verbosity < 0:
        return logging.ERROR
    if verbosity == 0:
        return NOTICE  # notices and warnings
    if verbosity == 1:
        return logging.INFO
    return logging.DEBUG


def _install(name: str, level: int) -> None:
    logger = logging.getLogger(name)
    for h in [h for h in logger.handlers if isinstance(h, TqdmHandler)]:
        logger.removeHandler(h)
    handler = TqdmHandler()
    handler.setFormatter(_Formatter())
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False  # an application's own root handler would print it twice


def configure(verbosity: int = 0, progress: bool = True) -> None:
    """A new run (the CLI calls this once): the handler on our loggers and the SDK's, their
    levels for ``verbosity``, the progress switch; the one-time notices are shown again."""
    _state.verbosity = verbosity
    _state.progress = progress and verbosity >= 0
    _state.configured = True
    _seen.clear()
    level = level_for(verbosity)
    for name in LOGGERS:
        _install(name, level)
    # The SDK logs whole requests at DEBUG; only -vv shows them, and INFO (retries) at -v.
    logging.getLogger("openai").setLevel(level if verbosity >= 1 else logging.WARNING)


def reset() -> None:
    """Undo :func:`configure` (for tests and embedding applications): our handlers removed,
    levels and propagation back to logging's defaults, notices forgotten."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        for h in [h for h in logger.handlers if isinstance(h, TqdmHandler)]:
            logger.removeHandler(h)
        logger.setLevel(logging.NOTSET)
        logger.propagate = True
    _state.verbosity, _state.progress, _state.configured = 0, True, False
    _seen.clear()


def _ensure() -> None:
    """Library use (no CLI): our own lines still reach stderr above any bar, at the default
    verbosity; the ``generator.*`` and SDK loggers are left to the application."""
    if not _state.configured and not any(
        isinstance(h, TqdmHandler) for h in logging.getLogger("dgm4plus").handlers
    ):
        _install("dgm4plus", level_for(_state.verbosity))


def progress_enabled() -> bool:
    """False after ``--no-progress`` or ``-q``."""
    return _state.progress


def verbosity() -> int:
    return _state.verbosity


def info(line: str) -> None:
    """A progress line (shown with ``-v``)."""
    _ensure()
    _log.info(line)


def notice(line: str) -> None:
    """A line the user should see once (hidden by ``-q``)."""
    _ensure()
    _log.log(NOTICE, line)


def warn(line: str) -> None:
    _ensure()
    _log.warning(line)


def error(line: str) -> None:
    _ensure()
    _log.error(line)


def notice_once(key: str, line: str) -> bool:
    """Show ``line`` the first time ``key`` is seen in this run; True if it was shown."""
    if key in _seen:
        return False
    _seen.add(key)
    notice(line)
    return True


__all__ = [
    "NOTICE",
    "TqdmHandler",
    "configure",
    "error",
    "info",
    "level_for",
    "notice",
    "notice_once",
    "progress_enabled",
    "reset",
    "verbosity",
    "warn",
]
