"""The ``omnisense`` command: the gateway's CLI, or a clear hint where only the client is installed.

The contract package imports nothing of the gateway: the command finds the gateway's CLI
through the ``omnisense.commands`` entry point (``server``) that the distribution declares.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points

HINT = "omnisense: the gateway's commands need the server extra ({missing} is missing): pip install 'omnisense[server]'"


def main(argv: Sequence[str] | None = None) -> int:
    found = entry_points(group="omnisense.commands", name="server")
    if not found:
        print(HINT.format(missing="the gateway"), file=sys.stderr)
        return 2
    try:
        gateway_main: Callable[[Sequence[str] | None], int] = next(iter(found)).load()
    except ModuleNotFoundError as exc:
        print(HINT.format(missing=exc.name), file=sys.stderr)
        return 2
    return gateway_main(argv)


if __name__ == "__main__":
    sys.exit(main())
