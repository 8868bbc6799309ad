"""The tasks of the API, named ``modality.task``, and the units they are billed by.

What each task takes, answers and logs is its row in ``omnisense.schema.table``.
"""

from __future__ import annotations

from enum import StrEnum


class Task(StrEnum):
    VISION_LABELS = "vision.labels"
    VISION_OBJECTS = "vision.objects"
    VISION_FACES = "vision.faces"
    VISION_OCR = "vision.ocr"
    VISION_MODERATION = "vision.moderation"
    TEXT_SENTIMENT = "text.sentiment"
    TEXT_ENTITIES = "text.entities"
    TEXT_KEY_PHRASES = "text.key_phrases"
    TEXT_LANGUAGE = "text.language"
    TEXT_TRANSLATE = "text.translate"
    TEXT_MODERATION = "text.moderation"
    SPEECH_SYNTHESIZE = "speech.synthesize"
    SPEECH_TRANSCRIBE = "speech.transcribe"
    VIDEO_LABELS = "video.labels"
    VIDEO_SHOTS = "video.shots"
    VIDEO_MODERATION = "video.moderation"

    @property
    def modality(self) -> str:
        return self.value.split(".", 1)[0]

    @property
    def path(self) -> str:
        """The REST path: ``/v1/text/key-phrases`` for ``text.key_phrases``."""
        modality, name = self.value.split(".", 1)
        return f"/v1/{modality}/{name.replace('_', '-')}"


class Unit(StrEnum):
    """What a request is measured (and billed) in."""

    IMAGE = "image"
    CHARACTER = "character"
    SECOND = "second"
