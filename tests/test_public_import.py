"""`from omnisense import Client, AsyncClient` works, and needs nothing of the server.

`pip install omnisense` installs httpx and msgspec only; `omnisense[server]` the gateway.
The subprocess below blocks every server dependency and still uses the client end to end
(against httpx's mock transport), so an import that drags one in fails here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import omnisense

ROOT = Path(__file__).resolve().parents[1]
SERVER_ONLY = ["litestar", "aiohttp", "uvicorn", "tenacity", "yaml", "PIL", "prometheus_client", "mutagen", "av",
               "boto3", "botocore", "asyncpg", "redis", "opentelemetry"]  # fmt: skip

CLIENT_ONLY = f"""
import importlib.abc, sys
BLOCKED = {SERVER_ONLY!r}

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}} (a server dependency)", name=name)
        return None

sys.meta_path.insert(0, Block())
import httpx, msgspec
from omnisense import AsyncClient, Client, TextModerationResult, UpstreamTimeout

def answer(request):
    if request.url.path != "/v1/text/moderation":
        return httpx.Response(404)
    result = {{"flagged": True, "flags": [{{"category": "insult", "confidence": 0.9, "vendor_category": "INSULT"}}]}}
    usage = {{"units": 9, "unit": "character", "cost_usd": 0.0001}}
    return httpx.Response(200, json={{"request_id": "r", "task": "text.moderation", "provider": "aws",
                                      "model": "m", "result": result, "usage": usage, "latency_ms": 1.0}})

omni = Client(http=httpx.Client(base_url="http://gateway", transport=httpx.MockTransport(answer)))
out = omni.text.moderation("you idiot")
assert isinstance(out.result, TextModerationResult) and out.result.flagged
from omnisense.cli import main
assert main(["serve"]) == 2  # the gateway's commands need the server extra: a hint, not a traceback
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("gateway", "omnisense"))
assert not [m for m in loaded if m.startswith(("gateway.server", "gateway.logs", "gateway.dispatch"))], loaded
print("ok")
"""


def test_public_names() -> None:
    from omnisense import AsyncClient, Client, Envelope, TextModerationResult, UpstreamTimeout

    assert Client.__module__ == "omnisense.client.sync" and AsyncClient.__module__ == "omnisense.client.aio"
    assert issubclass(UpstreamTimeout, omnisense.OmnisenseError) and UpstreamTimeout.retryable
    assert Envelope and TextModerationResult
    assert all(hasattr(omnisense, name) for name in omnisense.__all__)


def test_the_client_runs_without_any_server_dependency() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", CLIENT_ONLY], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
    assert "pip install 'omnisense[server]'" in done.stderr


def test_the_distribution_splits_client_and_server() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = {dep.split(">")[0].split("=")[0].split("[")[0] for dep in project["dependencies"]}
    assert core == {"httpx", "msgspec"}
    extras = project["optional-dependencies"]
    server = " ".join(extras["server"])
    assert all(name in server for name in ("litestar", "aiohttp", "uvicorn", "tenacity", "pyyaml"))
    assert "server" in extras["all"][0] and "omnisense[all]" in extras["dev"]
    for extra in ("aws", "local", "postgres", "redis", "otel"):
        assert "omnisense[server]" in extras[extra], f"{extra} installs the gateway too"


def test_the_one_export_list_covers_the_table_and_the_error_tree() -> None:
    """``omnisense.__all__`` is the schema's list plus the clients: every result type of the task
    table, the types inside them, every error class and the envelope are importable from it."""
    import msgspec

    from omnisense.schema import TABLE, OmnisenseError
    from omnisense.schema import __all__ as contract

    exported = set(omnisense.__all__)
    assert len(omnisense.__all__) == len(exported) and exported == {*contract, "Client", "AsyncClient"}
    for spec in TABLE.values():
        for kind in (spec.result, spec.request):
            assert kind.__name__ in exported and getattr(omnisense, kind.__name__) is kind
        for field in msgspec.structs.fields(spec.result):  # the item types a caller reads (Label, Box, ...)
            for inner in getattr(field.type, "__args__", (field.type,)):
                args = getattr(inner, "__args__", (inner,))
                for item in args:
                    if isinstance(item, type) and issubclass(item, msgspec.Struct):
                        assert item.__name__ in exported, f"{item.__name__} ({spec.task}) is not exported"

    def subclasses(cls: type) -> set[type]:
        found = set(cls.__subclasses__())
        return found.union(*(subclasses(sub) for sub in found)) if found else found

    for error in {OmnisenseError, *subclasses(OmnisenseError)}:
        if error.__module__ == "omnisense.schema.errors":
            assert error.__name__ in exported, f"{error.__name__} is not exported"
