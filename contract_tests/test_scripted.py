"""The table contract on the scripted provider: every row of the task table, as a provider sees it."""

from __future__ import annotations

import pytest

from adapters import registry
from adapters.base import Provider
from contract_tests import abstract

SCRIPTED = "contract_tests.scripted_provider:ScriptedProvider"


class TestTable(abstract.TableContract):
    @pytest.fixture
    def provider(self) -> Provider:
        return registry.build("scripted", {"kind": SCRIPTED})
