"""The ``oip`` provider's policy block: the server, the model, and the declared tensor mapping.

Example (a scikit-learn sentiment model on MLServer)::

    sentiment-v2:
      kind: oip
      url: http://127.0.0.1:8081
      model: sentiment
      version: "2"                      # optional: /v2/models/sentiment/versions/2/infer
      task: text.sentiment
      inputs:
        - {name: text, from: text}     # BYTES by default: the request's text
      outputs:
        label: predict                 # a BYTES tensor of class names (or integers with `classes`)
        scores: predict_proba          # FP32 [1, C]: one score per class of `classes`
        classes: [negative, neutral, positive]
        label_map: {neg: negative}     # the model's class names -> the task's (optional)

Which outputs a task needs follows from its row's output shape (``TaskSpec.output``):

- ``classes`` (text.sentiment, text.language, text.moderation, vision.labels,
  vision.moderation): ``label``, or ``scores`` with ``classes`` (or both);
- ``boxes`` (vision.objects, vision.faces): ``boxes`` ([N, 4], ``box_format`` xyxy or
  xywh, ``box_units`` ratio or pixels) with ``scores`` ([N]); objects also ``label``;
- ``text`` (text.translate, vision.ocr, speech.transcribe): ``text``.

The ``spans`` shape (text.entities, text.key_phrases) and ``audio`` (speech.synthesize)
have no declared mapping yet and are refused. Inputs take ``from`` one of the request's fields; an image becomes either
its file bytes (BYTES, base64) or a pixel tensor resized to ``size`` [width, height],
scaled by ``scale``, normalized by ``mean``/``std`` per channel, in ``layout``.

Every problem is refused by ``omnisense policy check`` with its path in the block.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import msgspec

from adapters.kit.config import ProviderConfig
from omnisense.schema import TABLE, OutputShape, Task, spec_of

Datatype = Literal["BYTES", "FP32", "FP64", "FP16", "UINT8", "INT8", "INT32", "INT64"]
Source = Literal["text", "image", "audio", "language", "source_language", "target_language"]


def _media_source(task: Task) -> str:
    """The request field that carries the task's main input."""
    return spec_of(task).input.value


class TensorInput(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One input tensor, made from one field of the request."""

    name: str
    source: Source = msgspec.field(name="from")
    datatype: Datatype = "BYTES"
    content_type: str | None = None  # sent as the tensor's parameters.content_type (MLServer codecs)
    # Pixel tensors (an image with a numeric datatype):
    size: tuple[int, int] | None = None  # [width, height] to resize to
    layout: Literal["NHWC", "NCHW", "HWC", "CHW"] = "NHWC"
    scale: float = 1.0 / 255.0  # pixel values 0..255 are multiplied by this, then normalized
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("name must not be empty")
        numeric = self.datatype != "BYTES"
        if self.source == "image" and numeric:
            if self.size is None:
                raise ValueError("an image as a numeric tensor needs `size: [width, height]`")
            if min(self.size) < 1:
                raise ValueError("size must be positive")
            if any(s == 0 for s in self.std):
                raise ValueError("std must not be 0")
        elif numeric:
            raise ValueError(f"`from: {self.source}` is sent as BYTES, not {self.datatype}")

    @property
    def pixels(self) -> bool:
        return self.source == "image" and self.datatype != "BYTES"


class OutputMapping(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Which output tensor holds what; names are the model's output names."""

    label: str | None = None  # class names (BYTES) or class indices (integers, with `classes`)
    scores: str | None = None  # [C] or [1, C] per class (classification); [N] per box (detection)
    classes: list[str] | None = None  # the class of each score column / integer label
    label_map: dict[str, str] = msgspec.field(default_factory=dict)  # model class -> the task's name
    boxes: str | None = None  # [N, 4]
    box_format: Literal["xyxy", "xywh"] = "xyxy"
    box_units: Literal["ratio", "pixels"] = "ratio"
    text: str | None = None  # BYTES: translation, OCR text, transcript

    def __post_init__(self) -> None:
        if self.classes is not None and len(set(self.classes)) != len(self.classes):
            raise ValueError("classes must not repeat a name")

    def names(self) -> list[str]:
        return [n for n in (self.label, self.scores, self.boxes, self.text) if n]


class OipConfig(ProviderConfig, kw_only=True, forbid_unknown_fields=True):
    url: str
    model: str
    task: Task
    inputs: list[TensorInput]
    outputs: OutputMapping
    version: str | None = None
    headers: dict[str, str] = msgspec.field(default_factory=dict)  # e.g. a KServe ingress's auth
    request_outputs: bool = True  # name the mapped outputs in the request (MLServer, Triton honour it)
    model_label: str | None = None  # the envelope's `model` (default: name:version)
    source_language: str | None = None  # text.translate: the model's source language when a request names none
    languages: list[str] | None = None  # text tasks: the input languages the model takes (None: any)
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url: must start with http:// or https://, got {self.url!r}")
        if self.task not in SUPPORTED:
            allowed = ", ".join(sorted(t.value for t in SUPPORTED))
            raise ValueError(f"task: {self.task.value} has no OIP mapping (supported: {allowed})")
        self._check_inputs()
        self._check_outputs()

    def _check_inputs(self) -> None:
        if not self.inputs:
            raise ValueError("inputs: at least one input tensor is needed")
        names = [t.name for t in self.inputs]
        if len(set(names)) != len(names):
            raise ValueError("inputs: two tensors share a name")
        need = _media_source(self.task)
        if need not in {t.source for t in self.inputs}:
            raise ValueError(f"inputs: {self.task.value} needs a tensor `from: {need}`")
        allowed = {need, "language"} | ({"source_language", "target_language"} if need == "text" else set())
        for i, tensor in enumerate(self.inputs):
            if tensor.source not in allowed:
                raise ValueError(f"inputs[{i}].from: {self.task.value} has no {tensor.source!r}")

    def _check_outputs(self) -> None:
        check = OUTPUT_CHECKS[spec_of(self.task).output]
        assert check is not None  # SUPPORTED holds only the shapes with a check
        check(self.outputs, self.task)
        if self.task is Task.TEXT_SENTIMENT:
            _check_sentiment(self.outputs)

    @property
    def model_path(self) -> str:
        base = f"/v2/models/{self.model}"
        return f"{base}/versions/{self.version}" if self.version else base


def _classes(out: OutputMapping, task: Task) -> None:
    if not out.label and not (out.scores and out.classes):
        raise ValueError(f"outputs: {task.value} needs `label`, or `scores` with `classes`")


def _boxes(out: OutputMapping, task: Task) -> None:
    if not (out.boxes and out.scores):
        raise ValueError(f"outputs: {task.value} needs `boxes` and `scores`")
    if task is Task.VISION_OBJECTS and not out.label:
        raise ValueError(f"outputs.label: {task.value} needs the tensor of class names")


def _text(out: OutputMapping, task: Task) -> None:
    if not out.text:
        raise ValueError(f"outputs.text: {task.value} needs the tensor that holds the text")


# The outputs each shape of the task table (``TaskSpec.output``) needs; None: no declared mapping yet.
OUTPUT_CHECKS: dict[OutputShape, Callable[[OutputMapping, Task], None] | None] = {
    OutputShape.CLASSES: _classes,
    OutputShape.BOXES: _boxes,
    OutputShape.TEXT: _text,
    OutputShape.SPANS: None,
    OutputShape.AUDIO: None,
    OutputShape.TIMED: None,  # video: a model's output over time has no tensor mapping yet
}
SUPPORTED = frozenset(task for task, spec in TABLE.items() if OUTPUT_CHECKS[spec.output] is not None)


def _check_sentiment(out: OutputMapping) -> None:
    """Every sentiment class must map to positive, negative, neutral or mixed."""
    known = {"positive", "negative", "neutral", "mixed"}
    for name in out.classes or []:
        mapped = out.label_map.get(name, name)
        if mapped not in known:
            raise ValueError(f"outputs.classes: {name!r} is not a sentiment label (map it in outputs.label_map)")
    for name, mapped in out.label_map.items():
        if mapped not in known:
            raise ValueError(f"outputs.label_map.{name}: {mapped!r} is not a sentiment label")
