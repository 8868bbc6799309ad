"""Wire-level fakes of vendor APIs: real HTTP servers that speak the vendor's protocol."""

from contract_tests.fakes.scripted import Recorded, Reply, ScriptedVendor

__all__ = ["Recorded", "Reply", "ScriptedVendor"]
