"""Load and check policy files: YAML, ``${VAR}`` interpolation, structure, references.

Every problem is reported with its path in the file, e.g.
``routes."vision.*".candidates[2]: unknown provider 'gpc'``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec
import yaml

from adapters import registry
from omnisense.schema import Consensus, Task, spec_of
from omnisense.schema.requests import MAX_FANOUT
from policies import residency
from policies.model import Candidate, FanOut, PolicyFile, Route
from policies.redaction import check_redaction

_VAR = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")


class PolicyError(ValueError):
    """A policy file that cannot be used; ``problems`` lists every finding."""

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__(f"{source}: " + "; ".join(problems))
        self.source = source
        self.problems = problems


@dataclass(frozen=True)
class LoadedPolicy:
    name: str
    source: str
    policy: PolicyFile


def interpolate(value: Any, env: Mapping[str, str], path: str, problems: list[str]) -> Any:
    """Replace ``${VAR}`` and ``${VAR:-default}`` in every string of ``value``."""
    if isinstance(value, str):

        def sub(m: re.Match[str]) -> str:
            name, default = m["name"], m["default"]
            if name in env:
                return env[name]
            if default is not None:
                return default
            problems.append(f"{path}: environment variable {name} is not set")
            return ""

        out = _VAR.sub(sub, value)
        if out != value and _VAR.fullmatch(value.strip()):
            return _scalar(out)  # `timeout_s: ${T:-10}` is the number 10, not the string "10"
        return out
    if isinstance(value, dict):
        return {k: interpolate(v, env, f"{path}.{_key(k)}" if path else _key(k), problems) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env, f"{path}[{i}]", problems) for i, v in enumerate(value)]
    return value


def _scalar(text: str) -> Any:
    """A whole-value substitution is typed like YAML would type it: numbers, booleans; else text."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, int | float | bool) else text


def _key(k: Any) -> str:
    k = str(k)
    return k if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", k) else f'"{k}"'


def _msgspec_path(message: str) -> str:
    """``Expected `int` - at `$.routes['vision.*'].timeout_s``` -> ``routes."vision.*".timeout_s: ...``."""
    text, _, where = message.rpartition(" - at `")
    if not text:
        return message
    where = where.rstrip("`").removeprefix("$").lstrip(".")
    where = re.sub(r"\['([^']*)'\]", lambda m: "." + _key(m[1]), where).lstrip(".")
    return f"{where}: {text}" if where else text


def task_pattern_matches(pattern: str, task: Task) -> bool:
    if pattern in ("*", task.value):
        return True
    return pattern.endswith(".*") and task.modality == pattern[:-2]


def pattern_specificity(pattern: str) -> int:
    """How closely a route pattern names its tasks: ``*`` 0, ``modality.*`` 1, a task 2 (the closest wins)."""
    return 0 if pattern == "*" else 1 if pattern.endswith(".*") else 2


def governed(policy: PolicyFile, pattern: str) -> list[Task]:
    """The tasks whose route is ``pattern``: it matches them, and no closer pattern does."""
    out = []
    for task in Task:
        matching = [p for p in policy.routes if task_pattern_matches(p, task)]
        if pattern in matching and max(matching, key=pattern_specificity) == pattern:
            out.append(task)
    return out


def check_fanout(policy: PolicyFile, pattern: str, fanout: FanOut) -> list[str]:
    """A route's ``fanout`` block: known providers, each once, a tiebreak apart, tasks that merge."""
    where, problems = f"routes.{_key(pattern)}.fanout", []
    if not 2 <= len(fanout.providers) <= MAX_FANOUT:
        problems.append(f"{where}.providers: needs 2 to {MAX_FANOUT} providers, has {len(fanout.providers)}")
    seen: set[str] = set()
    for i, provider in enumerate(fanout.providers):
        if provider not in policy.providers:
            problems.append(f"{where}.providers[{i}]: unknown provider '{provider}'")
        elif provider in seen:
            problems.append(f"{where}.providers[{i}]: '{provider}' is named twice")
        seen.add(provider)
    if fanout.tiebreak is not None and fanout.tiebreak not in policy.providers:
        problems.append(f"{where}.tiebreak: unknown provider '{fanout.tiebreak}'")
    elif fanout.tiebreak in seen:
        problems.append(f"{where}.tiebreak: '{fanout.tiebreak}' is already one of the providers")
    if fanout.agree_at is not None:
        if not 0 <= fanout.agree_at <= 1:
            problems.append(f"{where}.agree_at: must be in [0, 1], is {fanout.agree_at}")
        if fanout.tiebreak is None:
            problems.append(f"{where}.agree_at: only with a tiebreak (it decides when the tiebreak is called)")
    for task in governed(policy, pattern):
        if spec_of(task).consensus is Consensus.NONE:
            problems.append(
                f"{where}: {task} has no consensus (its answers cannot be merged); give it a route of its own"
            )
    return problems


def check_references(policy: PolicyFile) -> list[str]:
    problems: list[str] = []
    names = set(policy.providers)
    for pname, block in policy.providers.items():
        for path, message in registry.check(block):  # each block against its kind's config class
            problems.append(f"providers.{_key(pname)}{'.' + path if path else ''}: {message}")
    for pattern, route in policy.routes.items():
        where = f"routes.{_key(pattern)}"
        if not any(task_pattern_matches(pattern, t) for t in Task):
            problems.append(f"{where}: matches no task (tasks look like 'vision.labels' or 'vision.*')")
        if not route.candidates and route.fanout is None:
            problems.append(f"{where}.candidates: is empty")
        if route.fanout is not None:
            problems += check_fanout(policy, pattern, route.fanout)
        for i, cand in enumerate(route.candidates):
            provider = cand.provider if isinstance(cand, Candidate) else cand
            if provider not in names:
                problems.append(f"{where}.candidates[{i}]: unknown provider '{provider}'")
        for i, provider in enumerate(route.fallback):
            if provider not in names:
                problems.append(f"{where}.fallback[{i}]: unknown provider '{provider}'")
        for i, provider in enumerate(route.shadow):
            if provider not in names:
                problems.append(f"{where}.shadow[{i}]: unknown provider '{provider}'")
    for i, budget in enumerate(policy.budgets):
        if budget.then != "reject" and budget.then not in names:
            problems.append(f"budgets[{i}].then: unknown provider '{budget.then}' (or 'reject')")
    problems += check_redaction(policy)
    if not problems:  # where each route may send data: only once every block reads well
        governs = {pattern: governed(policy, pattern) for pattern in policy.routes}
        problems += residency.check_policy(policy, governs, _key)
    return problems


def parse_policy(text: str, source: str = "<policy>", env: Mapping[str, str] | None = None) -> PolicyFile:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(source, [f"not valid YAML: {exc}"]) from None
    if not isinstance(data, dict):
        raise PolicyError(source, ["the file must be a mapping with 'providers' and 'routes'"])
    problems: list[str] = []
    data = interpolate(data, os.environ if env is None else env, "", problems)
    if problems:
        raise PolicyError(source, problems)
    policy = _convert(data, source)
    problems = check_references(policy)
    if problems:
        raise PolicyError(source, problems)
    return policy


def _convert(data: dict[str, Any], source: str) -> PolicyFile:
    try:
        return msgspec.convert(data, PolicyFile, str_keys=True)
    except msgspec.ValidationError as exc:
        problems = [_msgspec_path(str(exc))]
    # msgspec names a dict key as "[...]": check each route alone to say which one.
    routes = data.get("routes")
    if isinstance(routes, dict) and "routes[...]" in problems[0]:
        problems = []
        for pattern, route in routes.items():
            try:
                msgspec.convert(route, Route, str_keys=True)
            except msgspec.ValidationError as exc:
                problems.append(f"routes.{_key(pattern)}.{_msgspec_path(str(exc))}".replace(". ", " ").rstrip("."))
    raise PolicyError(source, problems)


def preset_path(name: str) -> Path:
    return Path(str(resources.files("policies") / "presets" / f"{name}.yaml"))


def load_policy(path_or_preset: str, env: Mapping[str, str] | None = None) -> LoadedPolicy:
    """Load a policy from a file path, or a preset by name (``local``, ``aws`` ...)."""
    path = Path(path_or_preset)
    if not path.exists() and "/" not in path_or_preset and not path_or_preset.endswith((".yaml", ".yml")):
        path = preset_path(path_or_preset)
    try:
        text = path.read_text()
    except OSError as exc:
        raise PolicyError(str(path), [f"cannot read: {exc.strerror}"]) from None
    return LoadedPolicy(name=path.stem, source=str(path), policy=parse_policy(text, str(path), env))
