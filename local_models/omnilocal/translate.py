"""Translation with Debian's rule-based apertium: every installed pair, and pivot
translation through a shared language when there is no direct pair (fr->en runs
fr->es, then es->en). One apertium pipeline process per step.

Pairs come from the mode files in /usr/share/apertium/modes (``fr-es.mode``,
``eng-cat_valencia.mode``); the codes are turned into BCP-47 (``ca-valencia``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import langs
from .budget import DeadlineExceeded, remaining_s
from .errors import ModelInputError, invalid, unsupported

APERTIUM_MODES = Path("/usr/share/apertium/modes")
# Pivot languages, best first: where several connect a pair, the first one is used.
HUBS = ("en", "es", "ca", "fr", "pt", "it")
KNOWN = set(langs.ISO3_TO_BCP47.values()) | {"sh"}
STEP_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Step:
    source: str
    target: str
    mode: str


@dataclass(frozen=True)
class Route:
    """How one (source, target) pair is served: one step, or two through a pivot."""

    steps: tuple[Step, ...]

    @property
    def source(self) -> str:
        return self.steps[0].source

    @property
    def target(self) -> str:
        return self.steps[-1].target

    @property
    def pivot(self) -> str | None:
        return self.steps[0].target if len(self.steps) > 1 else None

    @property
    def model(self) -> str:
        """The answer's model field: ``apertium fr-es`` or ``apertium fr-es+es-en (pivot via es)``."""
        modes = "+".join(step.mode for step in self.steps)
        return f"apertium {modes}" + (f" (pivot via {self.pivot})" if self.pivot else "")


def discover_apertium_pairs(modes_dir: Path = APERTIUM_MODES) -> dict[tuple[str, str], str]:
    """Installed apertium modes as {(source, target) in BCP-47: mode name}."""
    pairs: dict[tuple[str, str], str] = {}
    if not modes_dir.is_dir():
        return pairs
    for mode in sorted(modes_dir.glob("*.mode")):
        parts = mode.stem.split("-")
        if len(parts) != 2:  # e.g. eng-spa-morph debugging modes
            continue
        try:
            source, target = langs.from_iso3(parts[0]), langs.from_iso3(parts[1])
        except ModelInputError:
            continue
        if langs.base(source) in KNOWN and langs.base(target) in KNOWN:  # not Cyrl-Latn
            pairs[(source, target)] = mode.stem
    return pairs


def plan_routes(pairs: dict[tuple[str, str], str]) -> dict[tuple[str, str], Route]:
    """Every direct pair, and a two-step route through a hub for each pair of plain
    languages (no variant subtags) that has none."""
    routes = {(s, t): Route((Step(s, t, mode),)) for (s, t), mode in pairs.items()}
    plain = sorted({code for pair in pairs for code in pair if "-" not in code})
    hubs = [h for h in HUBS if h in plain] + [h for h in plain if h not in HUBS]
    for source in plain:
        for target in plain:
            if source == target or (source, target) in routes:
                continue
            for hub in hubs:
                if (source, hub) in pairs and (hub, target) in pairs and hub not in (source, target):
                    first, second = Step(source, hub, pairs[(source, hub)]), Step(hub, target, pairs[(hub, target)])
                    routes[(source, target)] = Route((first, second))
                    break
    return routes


class Translator:
    model_name = "apertium"

    def __init__(self, modes_dir: Path = APERTIUM_MODES) -> None:
        self.pairs = discover_apertium_pairs(modes_dir)
        self.routes = plan_routes(self.pairs)

    def languages(self) -> list[str]:
        return sorted({code for pair in self.routes for code in pair})

    def capabilities(self) -> dict[str, Any]:
        pivots = sorted((r for r in self.routes.values() if r.pivot), key=lambda r: (r.source, r.target))
        return {
            "languages": self.languages(),
            "pairs": [[s, t] for s, t in sorted(self.routes)],
            "pivots": [[r.source, r.pivot, r.target] for r in pivots],
            "model": self.model_name,
        }

    def route(self, source: str, target: str) -> Route:
        """The route for a requested pair: exact codes first, then by base language
        (``en-GB`` asked, ``en`` served)."""
        if (source, target) in self.routes:
            return self.routes[(source, target)]
        for (src, tgt), route in sorted(self.routes.items(), key=lambda kv: len(kv[1].steps)):
            if langs.matches(source, src) and langs.matches(target, tgt):
                return route
        direct = sorted(f"{s}->{t}" for s, t in self.pairs)
        pivoted = sorted(f"{r.source}->{r.target}" for r in self.routes.values() if r.pivot)
        raise unsupported(
            f"no translation pair {source}->{target}; installed: {direct}; through a pivot language: {pivoted}"
        )

    def translate(self, text: str, route: Route) -> str:
        for step in route.steps:
            text = self._run(text, step.mode)
        return text

    @staticmethod
    def _run(text: str, mode: str) -> str:
        """One apertium pipeline over ``text``, bounded by the call's time budget (and by
        ``STEP_TIMEOUT_S``). ``apertium`` is a shell script that starts a pipeline of
        processes: it runs in its own process group, and the whole group is killed when the
        time is up (killing the script alone would leave the pipeline translating)."""
        left = remaining_s()
        limit = STEP_TIMEOUT_S if left is None else min(STEP_TIMEOUT_S, max(left, 0.001))
        proc = subprocess.Popen(
            ["apertium", "-u", mode],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            out, err = proc.communicate(text, timeout=limit)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise DeadlineExceeded(f"the translation ran out of its time budget ({limit:.2f} s): abandoned") from None
        except BaseException:
            _kill_group(proc)
            raise
        if proc.returncode != 0:
            raise invalid(f"apertium failed: {err.strip()[:200]}")
        return out.rstrip("\n") if not text.endswith("\n") else out


def _kill_group(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):  # the group is gone already
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()  # reaps it and closes the pipes
