"""User-facing error types.

A :class:`ConfigError` is a mistake in the user's input (a config value, an override, a file). The
command-line entry points print it as one line and exit non-zero, without a Python traceback.
"""

from __future__ import annotations

import math


class ConfigError(ValueError):
    """An invalid user input, reported as ``error: <key>: <message>``."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        self.message = message
        super().__init__(f"{key}: {message}" if key else message)

    def prefixed(self, prefix: str) -> ConfigError:
        """The same error with its key placed under ``prefix`` (e.g. ``model`` + ``width``)."""
        key = f"{prefix}.{self.key}" if self.key else prefix
        return ConfigError(key, self.message)


def require(condition: bool, key: str, message: str) -> None:
    """Raise :class:`ConfigError` for ``key`` unless ``condition`` holds."""
    if not condition:
        raise ConfigError(key, message)


def positive_int(value: object, key: str) -> int:
    """``value`` as an int >= 1, or a :class:`ConfigError` naming ``key``."""
    require(isinstance(value, int) and not isinstance(value, bool) and value >= 1, key,
            f"must be a positive integer, got {value!r}")
    return int(value)  # type: ignore[arg-type]


def non_negative_number(value: object, key: str) -> float:
    """``value`` as a finite float >= 0, or a :class:`ConfigError` naming ``key``."""
    require(isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < math.inf, key,
            f"must be a non-negative number, got {value!r}")
    return float(value)  # type: ignore[arg-type]
