"""Contract tests for the vision tasks."""

from __future__ import annotations

from typing import ClassVar

from adapters.base import Provider
from contract_tests import samples
from contract_tests.abstract.base import ProviderContract, check_box, image_request
from omnisense.schema import (
    FacesResult,
    LabelsResult,
    ModerationResult,
    ObjectsResult,
    OcrResult,
    Task,
)


class LabelsContract(ProviderContract):
    task = Task.VISION_LABELS
    sample: ClassVar[bytes] = samples.jpeg()
    expected_label: ClassVar[str | None] = None  # a label the fake/model must return

    async def test_labels(self, provider: Provider) -> None:
        out = await self.run(provider, image_request(self.sample, max_results=5))
        assert isinstance(out.result, LabelsResult)
        assert out.result.labels, "at least one label"
        assert len(out.result.labels) <= 5, "max_results is honoured"
        if self.expected_label:
            names = [label.name.lower() for label in out.result.labels]
            assert any(self.expected_label.lower() in n for n in names), names


class ObjectsContract(ProviderContract):
    task = Task.VISION_OBJECTS
    sample: ClassVar[bytes] = samples.jpeg()

    async def test_objects(self, provider: Provider) -> None:
        out = await self.run(provider, image_request(self.sample))
        assert isinstance(out.result, ObjectsResult)
        for obj in out.result.objects:
            check_box(obj.box)


class FacesContract(ProviderContract):
    task = Task.VISION_FACES
    sample: ClassVar[bytes] = samples.jpeg()
    expected_faces: ClassVar[int | None] = None

    async def test_faces(self, provider: Provider) -> None:
        out = await self.run(provider, image_request(self.sample))
        assert isinstance(out.result, FacesResult)
        for face in out.result.faces:
            check_box(face.box)
        if self.expected_faces is not None:
            assert len(out.result.faces) == self.expected_faces


class OcrContract(ProviderContract):
    task = Task.VISION_OCR
    sample: ClassVar[bytes] = samples.text_image("HELLO WORLD")
    expected_text: ClassVar[str | None] = "HELLO WORLD"

    async def test_ocr(self, provider: Provider) -> None:
        out = await self.run(provider, image_request(self.sample))
        assert isinstance(out.result, OcrResult)
        assert out.result.lines, "at least one line"
        for line in out.result.lines:
            assert line.text
            if line.box is not None:
                check_box(line.box)
        if self.expected_text:
            assert self.expected_text.lower() in out.result.text.lower()


class ModerationContract(ProviderContract):
    task = Task.VISION_MODERATION
    sample: ClassVar[bytes] = samples.jpeg()

    async def test_moderation(self, provider: Provider) -> None:
        out = await self.run(provider, image_request(self.sample))
        assert isinstance(out.result, ModerationResult)
        for flag in out.result.flags:
            assert flag.category
