"""``python -m generator``: the same command as ``dgm4plus``."""

import sys

from generator.cli import main

if __name__ == "__main__":
    sys.exit(main())
