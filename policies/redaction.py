"""What a policy says about redaction: which providers are trusted, which one redacts.

A provider is trusted when its block says ``trusted: true``; a ``local`` provider (our own
model server) is trusted unless its block says ``trusted: false``. Every other kind is a
vendor or a server someone else runs: untrusted unless marked. Input redaction (``redact:``)
applies before each call to an untrusted provider (``gateway.redaction``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.model import PolicyFile

TRUSTED_KINDS = frozenset({"local"})


def is_trusted(block: Mapping[str, Any]) -> bool:
    trusted = block.get("trusted")
    if isinstance(trusted, bool):
        return trusted
    return block.get("kind") in TRUSTED_KINDS


def redactor_name(policy: PolicyFile) -> str | None:
    """The provider whose model server redacts: ``redactor.provider``, else the first ``local`` one."""
    if policy.redactor.provider is not None:
        return policy.redactor.provider
    return next((name for name, block in policy.providers.items() if block.get("kind") == "local"), None)


def check_redaction(policy: PolicyFile) -> list[str]:
    """A route that redacts needs a redactor: a ``local`` provider of the policy."""
    problems: list[str] = []
    named = policy.redactor.provider
    if named is not None:
        block = policy.providers.get(named)
        if block is None:
            problems.append(f"redactor.provider: unknown provider '{named}'")
        elif block.get("kind") != "local":
            problems.append(f"redactor.provider: '{named}' is kind {block.get('kind')!r}; the redactor is a local one")
    redacting = [p for p, r in policy.routes.items() if r.redact or r.redact_output]
    if redacting and redactor_name(policy) is None:
        where = ", ".join(redacting)
        problems.append(f"routes {where} redact, but the policy has no local provider to run the redactor")
    return problems
