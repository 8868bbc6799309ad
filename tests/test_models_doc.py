"""docs/models.md lists every shipped model: a weight package added to the model server's
requirements without a row there (with its exact version) fails here. (The files' sha256
are checked against the installed venv by local_models/tests/test_models_doc.py.)"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "models.md"
WEIGHTS = ROOT / "local_models" / "requirements-weights.txt"
REQUIREMENTS = ROOT / "local_models" / "requirements.txt"
# Packages in requirements.txt that carry model data of their own (the rest is code).
MODEL_CARRIERS = ("lingua-language-detector", "vaderSentiment", "opencv-python-headless", "rapidocr")
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", re.MULTILINE)


def pins(path: Path) -> dict[str, str]:
    return {name.lower(): version for name, version in _PIN.findall(path.read_text())}


def documented() -> dict[str, str]:
    """``package==version`` of each row of the table."""
    rows = re.findall(r"^\| `([^`=]+)==([^`]+)` \|", DOC.read_text(), re.MULTILINE)
    return {name.lower(): version for name, version in rows}


def test_every_weight_package_has_a_row_with_its_version() -> None:
    rows, weights = documented(), pins(WEIGHTS)
    assert weights, "requirements-weights.txt lists no package?"
    for name, version in weights.items():
        assert rows.get(name) == version, f"{name}=={version} (requirements-weights.txt) has no row in docs/models.md"


def test_model_data_in_the_plain_requirements_has_a_row() -> None:
    rows, plain = documented(), pins(REQUIREMENTS)
    for name in MODEL_CARRIERS:
        assert rows.get(name.lower()) == plain[name.lower()], f"{name} is not in docs/models.md at its pinned version"


def test_every_row_is_a_pinned_requirement() -> None:
    pinned = {**pins(REQUIREMENTS), **pins(WEIGHTS)}
    for name, version in documented().items():
        assert pinned.get(name) == version, f"docs/models.md lists {name}=={version}, which the server does not install"


def test_the_project_has_a_licence() -> None:
    assert "Apache License" in (ROOT / "LICENSE").read_text()[:200]
