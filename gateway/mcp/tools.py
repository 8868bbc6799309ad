"""The MCP tools: one per row of the task table, its input schema generated from the task's JSON body."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from omnisense.schema import TABLE, InputKind, Task, spec_of

_WHAT = {
    Task.VISION_LABELS: "Label what an image shows (objects, scenes, concepts), with confidences.",
    Task.VISION_OBJECTS: "Find objects in an image, each with a box.",
    Task.VISION_FACES: "Find faces in an image, each with a box and attributes where the provider gives them.",
    Task.VISION_OCR: "Read the text in an image (OCR): the full text and its lines.",
    Task.VISION_MODERATION: "Flag unsafe content in an image (sexual, violence, ...), with confidences.",
    Task.TEXT_SENTIMENT: "The sentiment of a text: positive, negative, neutral or mixed, with scores.",
    Task.TEXT_ENTITIES: "Named entities in a text (people, organizations, places, ...).",
    Task.TEXT_KEY_PHRASES: "The key phrases of a text.",
    Task.TEXT_LANGUAGE: "Detect the language of a text (BCP-47 codes, with confidences).",
    Task.TEXT_TRANSLATE: "Translate a text into target_language.",
    Task.TEXT_MODERATION: "Flag toxic, insulting, threatening, sexual or hateful text, with scores.",
    Task.SPEECH_SYNTHESIZE: "Speak a text: the audio comes back base64 in result.audio (WAV by default).",
    Task.SPEECH_TRANSCRIBE: "Transcribe speech (WAV, MP3, FLAC, Ogg) into text, with word times.",
    Task.VIDEO_LABELS: "Label what a video (MP4, MOV, WebM, MKV) shows over time: segments with start/end seconds.",
    Task.VIDEO_SHOTS: "Find the shot changes (cuts) of a video: shots with start/end seconds.",
    Task.VIDEO_MODERATION: "Flag unsafe frames of a video (sexual content, ...): each with its time and confidence.",
}
_MEDIA = ' The {field} comes as {{"base64": "..."}} or {{"url": "https://..."}} (where the gateway fetches URLs).'
_ANSWER = " The answer is Omnisense's normalized envelope: provider, model, result, usage, latency."


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    task: Task
    description: str
    input_schema: dict[str, Any]


def tool_name(task: Task) -> str:
    return task.value.replace(".", "_")


def input_schema(task: Task) -> dict[str, Any]:
    """The JSON schema of ``task``'s JSON body, self-contained (its definitions under ``$defs``)."""
    (ref,), defs = msgspec.json.schema_components([spec_of(task).body], ref_template="#/$defs/{name}")
    name = ref["$ref"].rsplit("/", 1)[-1]
    schema: dict[str, Any] = dict(defs.pop(name))
    if defs:
        schema["$defs"] = defs
    return schema


def tool_specs() -> list[ToolSpec]:
    specs = []
    for spec in TABLE.values():
        text = _WHAT[spec.task]
        if spec.input is not InputKind.TEXT and spec.media_field:
            text += _MEDIA.format(field=spec.media_field)
        specs.append(ToolSpec(tool_name(spec.task), spec.task, text + _ANSWER, input_schema(spec.task)))
    return specs


TOOLS = {spec.name: spec for spec in tool_specs()}
