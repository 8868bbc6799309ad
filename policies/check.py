"""``omnisense policy check FILE``: every problem of a policy file, each with its path."""

from __future__ import annotations

from collections.abc import Mapping

from policies.loader import PolicyError, load_policy


def check_file(path: str, env: Mapping[str, str] | None = None) -> list[str]:
    """The problems of the policy file (or preset) at ``path``; empty when it is good."""
    try:
        load_policy(path, env)
    except PolicyError as exc:
        return list(exc.problems)
    return []
