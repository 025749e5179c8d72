"""Run the sandbox server: ``python -m videoapi_async.sandbox --help``."""

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
