"""Fixtures shared by tests/ and contract_tests/."""

from contract_tests.model_server import model_server_url

__all__ = ["model_server_url"]
