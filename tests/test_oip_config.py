"""A bad OIP tensor mapping is refused by ``omnisense policy check``, with its path."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from gateway.cli import main
from policies.check import check_file

GOOD: dict[str, Any] = {
    "kind": "oip",
    "url": "http://127.0.0.1:8081",
    "model": "sentiment",
    "task": "text.sentiment",
    "inputs": [{"name": "text", "from": "text"}],
    "outputs": {"label": "predict", "scores": "predict_proba", "classes": ["negative", "positive"]},
}


def write(tmp_path: Path, block: dict[str, Any]) -> Path:
    policy = {"version": 1, "providers": {"mine": block}, "routes": {"text.sentiment": {"candidates": ["mine"]}}}
    path = tmp_path / "policy.yaml"
    path.write_text(json.dumps(policy))
    return path


def test_a_good_mapping_passes(tmp_path: Path) -> None:
    assert check_file(str(write(tmp_path, GOOD))) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"outputs": {"scores": "p"}},
         "providers.mine: outputs: text.sentiment needs `label`, or `scores` with `classes`"),
        ({"outputs": {"label": "l", "classes": ["good", "bad"]}},
         "providers.mine: outputs.classes: 'good' is not a sentiment label (map it in outputs.label_map)"),
        ({"outputs": {"label": "l", "label_map": {"pos": "great"}}},
         "providers.mine: outputs.label_map.pos: 'great' is not a sentiment label"),
        ({"inputs": [{"name": "text", "from": "text", "datatype": "FP32"}]},
         "providers.mine.inputs[0]: `from: text` is sent as BYTES, not FP32"),
        ({"inputs": [{"name": "text", "from": "image"}]},
         "providers.mine: inputs: text.sentiment needs a tensor `from: text`"),
        ({"inputs": [{"name": "text", "from": "text", "colour": "red"}]},
         "providers.mine.inputs[0]: Object contains unknown field `colour`"),
        ({"inputs": []}, "providers.mine: inputs: at least one input tensor is needed"),
        ({"task": "text.entities"}, "providers.mine: task: text.entities has no OIP mapping"),
        ({"task": "vision.objects", "inputs": [{"name": "img", "from": "image"}], "outputs": {"boxes": "b"}},
         "providers.mine: outputs: vision.objects needs `boxes` and `scores`"),
        ({"task": "vision.labels", "inputs": [{"name": "img", "from": "image", "datatype": "FP32"}]},
         "providers.mine.inputs[0]: an image as a numeric tensor needs `size: [width, height]`"),
        ({"task": "text.translate", "outputs": {"label": "x"}},
         "providers.mine: outputs.text: text.translate needs the tensor that holds the text"),
        ({"url": "ftp://models"}, "providers.mine: url: must start with http:// or https://"),
        ({"model": None}, "providers.mine.model: Expected `str`, got `null`"),
    ],
)  # fmt: skip
def test_a_bad_mapping_is_refused_with_its_path(tmp_path: Path, change: dict[str, Any], problem: str) -> None:
    block = copy.deepcopy(GOOD)
    block.update(change)
    problems = check_file(str(write(tmp_path, block)))
    assert len(problems) == 1 and problems[0].startswith(problem), problems


def test_policy_check_command_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, {**GOOD, "outputs": {"scores": "p"}})
    assert main(["policy", "check", str(path)]) == 1
    assert "providers.mine: outputs: text.sentiment needs" in capsys.readouterr().out
