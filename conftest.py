"""Fixtures shared by tests/ and contract_tests/."""

from contract_tests.mlserver.server import mlserver
from contract_tests.model_server import model_server_url

__all__ = ["mlserver", "model_server_url"]
