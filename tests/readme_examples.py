"""The README's examples are files under examples/: the README shows each whole, and tests run them."""

from __future__ import annotations

import contextlib
import io
import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_block(name: str) -> str:
    """The README's code block that shows ``examples/<name>`` (the block after its mention)."""
    readme = (ROOT / "README.md").read_text()
    start = readme.index(f"(examples/{name})")
    fence = readme.index("```python\n", start) + len("```python\n")
    return readme[fence : readme.index("```\n", fence)]


def run_example(name: str) -> str:
    """Run ``examples/<name>`` (which the README shows as it is); its printed output."""
    path = ROOT / "examples" / name
    assert readme_block(name) == path.read_text(), f"the README's copy of examples/{name} differs"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        runpy.run_path(str(path), run_name="__main__")
    return out.getvalue()
