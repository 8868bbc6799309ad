"""vision.objects' classes: a provider declares the classes it detects (``TaskSupport.classes``,
None: open vocabulary), a request may name the ones it wants (``classes``), the planner sends
it only where all of them are detected, and every provider's answer keeps only those."""

from __future__ import annotations

import msgspec
import pytest

from adapters.kit.results import apply_classes
from omnisense.schema import (
    Box,
    DetectedObject,
    ImageRequest,
    Media,
    ObjectsResult,
    ProviderInfo,
    Task,
    TaskSupport,
)
from policies.capabilities import input_field_of, unsupported_reason

JPEG = Media(data=b"\xff\xd8\xff" + b"0" * 64, format="jpeg", width=64, height=48)
BOX = Box(0.1, 0.1, 0.2, 0.2)


def info(classes: frozenset[str] | None) -> ProviderInfo:
    return ProviderInfo(name="p", kind="k", capabilities={Task.VISION_OBJECTS: TaskSupport(classes=classes)})


def test_a_provider_serves_only_the_classes_it_declares() -> None:
    local = info(frozenset({"face", "person"}))
    assert unsupported_reason(local, Task.VISION_OBJECTS, ImageRequest(image=JPEG)) is None
    assert unsupported_reason(local, Task.VISION_OBJECTS, ImageRequest(image=JPEG, classes=["Person"])) is None
    reason = unsupported_reason(local, Task.VISION_OBJECTS, ImageRequest(image=JPEG, classes=["person", "car"]))
    assert reason == "does not detect car for vision.objects (its classes: face, person)"
    assert input_field_of(reason) == "classes"  # the caller's choice: 422 when no provider has it
    assert unsupported_reason(info(None), Task.VISION_OBJECTS, ImageRequest(image=JPEG, classes=["car"])) is None


def test_the_answer_keeps_the_classes_asked_for_whatever_the_vendor_sent() -> None:
    found = ObjectsResult(objects=[DetectedObject("Person", 0.9, BOX), DetectedObject("Car", 0.8, BOX)])
    only = apply_classes(found, ImageRequest(image=JPEG, classes=["person"]))
    assert isinstance(only, ObjectsResult) and [o.name for o in only.objects] == ["Person"]
    assert apply_classes(found, ImageRequest(image=JPEG)) is found


@pytest.mark.parametrize("bad", [[], [""], ["x"] * 51])
def test_classes_are_validated(bad: list[str]) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"image": JPEG, "classes": bad}, ImageRequest, from_attributes=True)
