"""Run the ``videoapi`` command as ``python -m videoapi_async.cli``."""

from . import main

if __name__ == "__main__":
    main()
