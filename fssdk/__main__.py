"""``python -m fssdk``: the same command line as the ``fssdk`` console script."""

import sys

from fssdk.cli import main

if __name__ == "__main__":
    sys.exit(main())
