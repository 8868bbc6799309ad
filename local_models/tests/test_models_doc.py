"""Every file docs/models.md names is installed, with the sha256 the table gives."""

from __future__ import annotations

import hashlib
import re
import sysconfig
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "models.md"


def test_every_listed_weight_file_has_its_sha256() -> None:
    site = Path(sysconfig.get_paths()["purelib"])
    rows = re.findall(r"^\| `[^`]+` \| [^|]+ \| `([^`]+)`[^|]* \| `([0-9a-f]{64})` \|", DOC.read_text(), re.MULTILINE)
    assert len(rows) >= 12, rows
    for path, sha in rows:
        data = (site / path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == sha, path
