"""The ``omnisense`` command: the gateway's CLI, or a clear hint where only the client is installed."""

from __future__ import annotations

import sys
from collections.abc import Sequence

HINT = "omnisense: the gateway's commands need the server extra ({missing} is missing): pip install 'omnisense[server]'"


def main(argv: Sequence[str] | None = None) -> int:
    try:
        from gateway.cli import main as gateway_main
    except ModuleNotFoundError as exc:
        print(HINT.format(missing=exc.name), file=sys.stderr)
        return 2
    return gateway_main(argv)


if __name__ == "__main__":
    sys.exit(main())
