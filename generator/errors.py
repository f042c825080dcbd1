"""Errors that end a command with one clear line and exit code 2."""

from __future__ import annotations


class UsageError(Exception):
    """Bad input from the user (a flag, a config value, a file): one line, exit code 2."""

    exit_code = 2


class ConfigError(UsageError):
    """An invalid configuration value; the message names the key and what is allowed."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self._message = message

    def __reduce__(self) -> tuple[type, tuple[str, str]]:  # survives a worker process (num_proc)
        return (type(self), (self.key, self._message))


class DataFileError(UsageError):
    """A malformed input data file (city table, metadata line); names the file and line."""

    def __init__(self, path: object, line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line
        self._message = message

    def __reduce__(self) -> tuple[type, tuple[object, int | None, str]]:
        return (type(self), (self.path, self.line, self._message))
