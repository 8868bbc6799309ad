"""The try-it form's description of every task, derived from the task table.

One entry per row of ``omnisense.schema.TABLE``: the endpoint, what the caller sends (image,
text or audio), whether the plain answer is audio, and the fields of the task's JSON body
(``TaskSpec.body``) with their kind, default and whether they are required. The page builds
its form from this, so a new row in the table shows up in the dashboard without an edit here.
``include_raw`` and ``routing`` are left out: the form has its own provider pin.
"""

from __future__ import annotations

import types
from typing import Annotated, Any, Union, get_args, get_origin

import msgspec

from omnisense.schema import TABLE, TaskSpec
from omnisense.schema.requests import MediaRef

SKIPPED = frozenset({"include_raw", "routing"})
_KINDS: dict[Any, str] = {bool: "bool", int: "int", float: "float", str: "str", MediaRef: "media"}


def _unwrap(annotation: Any) -> tuple[Any, list[msgspec.Meta]]:
    """``Annotated[int, Meta(ge=1)] | None`` -> (``int``, [its Meta]); a union of several types -> ``str``."""
    metas: list[msgspec.Meta] = []
    if get_origin(annotation) in (Union, types.UnionType):
        inner = [a for a in get_args(annotation) if a is not type(None)]
        annotation = inner[0] if len(inner) == 1 else str
    if get_origin(annotation) is Annotated:
        annotation, *extras = get_args(annotation)
        metas = [m for m in extras if isinstance(m, msgspec.Meta)]
    return annotation, metas


def _field(info: msgspec.structs.FieldInfo) -> dict[str, Any]:
    annotation, metas = _unwrap(info.type)
    if isinstance(annotation, type) and issubclass(annotation, MediaRef):
        annotation = MediaRef  # a video's reference (``VideoRef``) is sent as any media
    default = None if info.default is msgspec.NODEFAULT else info.default
    out = {"name": info.name, "kind": _KINDS.get(annotation, "str"), "required": info.required, "default": default}
    for meta in metas:  # the constraints the gateway enforces, for the form's own checks
        if meta.ge is not None:
            out["min"] = meta.ge
        if meta.le is not None:
            out["max"] = meta.le
        if meta.description:
            out["help"] = meta.description
    return out


def task_entry(spec: TaskSpec[Any, Any]) -> dict[str, Any]:
    fields = [_field(f) for f in msgspec.structs.fields(spec.body) if f.name not in SKIPPED]
    return {
        "task": spec.task.value,
        "path": spec.path,
        "input": spec.input.value,
        "media_field": spec.media_field,
        "answers_audio": spec.answers_audio,
        "unit": spec.unit.value,
        "fields": fields,
    }


def catalog() -> list[dict[str, Any]]:
    """Every task of the table, in the table's order."""
    return [task_entry(spec) for spec in TABLE.values()]
