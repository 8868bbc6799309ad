"""One shape for every plug-in table: a name maps to a lazy ``"module:attr"`` with an install hint.

Log sinks, job stores, cache stores (``gateway``) and routing strategies (``policies.strategies``)
are each a ``Registry``: the entry's module is imported on the first lookup of its name (so a
gateway writing SQLite never imports asyncpg), the loaded object is kept, and an entry whose
module cannot be imported says what to install (fsspec's ``registry.py`` is the model). It lives
here, in ``policies``, because strategies sit below the gateway; the provider registry
(``adapters.registry``) sits lower still and keeps its own table of two targets per kind.

A ``Registry`` is a dict of the entries loaded so far with a table of all the known ones:
``registry[name]`` is a plain dict lookup once the entry is loaded (the planner looks up a
strategy on every request), and ``registry.names()`` lists every known name.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


class UnknownEntry(KeyError, ValueError):
    """A name the registry does not know, or whose module cannot be imported (a config error)."""

    def __str__(self) -> str:  # KeyError quotes its message; this one is a sentence
        return str(self.args[0])


@dataclass(frozen=True)
class Entry:
    target: str  # "module:attr"
    extra: str | None = None  # the omnisense extra that brings its dependencies

    @property
    def install_hint(self) -> str | None:
        return f"pip install 'omnisense[{self.extra}]'" if self.extra else None

    def load(self) -> Any:
        module_name, _, attr = self.target.partition(":")
        return getattr(importlib.import_module(module_name), attr)


class Registry(dict[str, T]):
    """``what`` names the kind of entry in messages ("log sink", "routing strategy")."""

    def __init__(self, what: str, entries: dict[str, Entry | str]) -> None:
        super().__init__()
        self.what = what
        self.entries = {name: e if isinstance(e, Entry) else Entry(e) for name, e in entries.items()}

    def names(self) -> list[str]:
        return list(self.entries)

    def __contains__(self, name: object) -> bool:
        return name in self.entries

    def __missing__(self, name: str) -> T:
        entry = self.entries.get(name)
        if entry is None:
            raise UnknownEntry(f"unknown {self.what} {name!r} (known: {', '.join(self.entries)})")
        try:
            loaded: T = entry.load()
        except ImportError as exc:
            hint = f"; install it with {entry.install_hint}" if entry.install_hint else ""
            raise UnknownEntry(f"{self.what} {name!r} cannot be loaded ({exc}){hint}") from exc
        self[name] = loaded
        return loaded
