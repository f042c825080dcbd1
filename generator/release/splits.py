"""Moved to :mod:`generator.splits` (below both the builder and the release code); kept as an
alias so older imports keep working."""

from generator.splits import *  # noqa: F403
from generator.splits import __all__  # noqa: F401
