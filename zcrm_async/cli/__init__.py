"""``zcrm-async``: the command line. The only code in the package that prints, reads the environment, or calls
``anyio.run``."""

from ._app import main

__all__ = ["main"]
