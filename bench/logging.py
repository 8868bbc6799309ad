"""``python bench/logging.py``: what the request log costs, per sink (see bench/log_sinks.py).

This file has to be called logging.py, which is also the standard library's logging: a
script in bench/ (run as ``python bench/x.py``, so bench/ comes first on sys.path) that
imports logging finds this file instead. When that happens this module steps aside and
hands over the real one; run as a script, it runs the benchmark.
"""

import os
import sys

if __name__ == "logging":  # imported as the stdlib's logging by a sibling script: be it
    _here = os.path.dirname(os.path.realpath(__file__))
    _saved = sys.path[:]
    sys.path[:] = [p for p in sys.path if os.path.realpath(p or ".") != _here]
    del sys.modules["logging"]
    try:
        import logging as _stdlib  # the import lock is re-entrant: this finds the real module
    finally:
        sys.path[:] = _saved
    sys.modules["logging"] = _stdlib  # what the importer of "logging" receives
elif __name__ == "__main__":
    _root = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    _here = os.path.join(_root, "bench")
    sys.path[:] = [_root] + [p for p in sys.path if os.path.realpath(p or ".") != _here]
    from bench.log_sinks import run

    run()
