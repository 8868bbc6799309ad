"""Every third-party package the product code imports is declared in pyproject.toml (issue #32):
in the core dependencies or an extra, not merely brought along by another package."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("omnisense", "gateway", "adapters", "policies")


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0]).lower()


def _imported() -> dict[str, set[str]]:
    """Top-level module -> the product files that import it (at any depth: lazy imports count)."""
    found: dict[str, set[str]] = {}
    for package in PRODUCT:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.partition(".")[0], set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_imported_package_is_declared() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {_name(r) for r in project["dependencies"]}
    declared |= {_name(r) for extra in project["optional-dependencies"].values() for r in extra}
    distributions = packages_distributions()
    missing = {}
    for module, files in _imported().items():
        if module in sys.stdlib_module_names or module in PRODUCT or module == "__future__":
            continue
        owners = {_name(d) for d in distributions.get(module, [])}
        assert owners, f"{module} (imported by {sorted(files)[0]}) is not installed in the test environment"
        if not owners & declared:
            missing[module] = (sorted(owners), sorted(files))
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"
