"""The served process's garbage collector, tuned once the gateway has started.

Measured with ``bench/overhead.py`` and ``gc.callbacks``: with CPython's default
thresholds (700, 10, 10) the collector ran about every six requests at 64 in flight and
took a fifth of the gateway's CPU. Most of that is traversal, not garbage: the tens of
thousands of objects of 64 requests in flight (and of everything imported at start-up)
are walked again by every young and every full collection, while almost all of a
request's objects are freed by reference counting the moment it ends.

- ``gc.freeze()`` after start-up moves what start-up built (modules, the app, the
  routing, the providers) out of the collector's sight: full collections walk only what
  came later.
- A young-generation threshold of 20,000 (instead of 700) lets a request's objects die
  by reference counting before the collector ever looks at them; cycles are still
  collected, a little later (a few MB at most).

Only ``omnisense serve`` (``gateway.asgi``) applies it: it is process-wide state, so an
application embedding the gateway, or a test process building many apps, keeps its own.
"""

from __future__ import annotations

import gc

THRESHOLDS = (20_000, 20, 10)


def tune_after_startup() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
