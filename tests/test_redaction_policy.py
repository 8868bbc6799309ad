"""What a policy file says about redaction: trust per provider, the redactor, routes that redact."""

from __future__ import annotations

import pytest

from policies.loader import PolicyError, parse_policy
from policies.redaction import is_trusted, redactor_name

BASE = """
version: 1
providers:
  gcp: {kind: google, project: p, credentials: anonymous}
  mine: {kind: google, project: p, credentials: anonymous, trusted: true}
%s
routes:
  "text.*": {candidates: [gcp], redact: [pii], on_redaction_error: skip_untrusted}
  "vision.*": {candidates: [gcp], redact: [faces, text], redact_output: [pii]}
"""


def test_trust_defaults_and_the_redactor() -> None:
    policy = parse_policy(BASE % "  local: {kind: local, url: 'http://127.0.0.1:3031'}")
    trusted = {name: is_trusted(block) for name, block in policy.providers.items()}
    assert trusted == {"gcp": False, "mine": True, "local": True}
    assert is_trusted({"kind": "local", "trusted": False}) is False
    assert redactor_name(policy) == "local"
    route = policy.routes["text.*"]
    assert route.redact == ["pii"] and route.on_redaction_error == "skip_untrusted"


def test_a_redacting_route_needs_a_local_redactor() -> None:
    with pytest.raises(PolicyError, match="redact, but the policy has no local provider"):
        parse_policy(BASE % "")
    with pytest.raises(PolicyError, match=r"redactor\.provider: unknown provider 'nope'"):
        parse_policy(BASE % "  local: {kind: local}\nredactor: {provider: nope}")
    with pytest.raises(PolicyError, match=r"redactor\.provider: 'gcp' is kind 'google'"):
        parse_policy(BASE % "  local: {kind: local}\nredactor: {provider: gcp}")


def test_unknown_redaction_kind_is_named() -> None:
    text = BASE.replace("redact: [pii]", "redact: [voices]") % "  local: {kind: local}"
    with pytest.raises(PolicyError, match=r'routes\."text\.\*"\.redact'):
        parse_policy(text)
