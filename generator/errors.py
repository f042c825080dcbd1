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


class DataFileError(UsageError):
    """A malformed input data file (city table, metadata line); names the file and line."""

    def __init__(self, path: object, line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line
