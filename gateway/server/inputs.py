"""Turn an HTTP request into a normalized TaskRequest, or a 4xx that names the problem.

Images and audio come as a multipart upload (field ``image`` / ``audio``), as the raw
body (``Content-Type: image/*``, ``audio/*`` or ``application/octet-stream``, options
in the query string), or in JSON as ``{"image": {"base64": ...}}`` or ``{"url": ...}``.
Text tasks take JSON (or ``text/plain`` with options in the query string). What a task
takes is its row in the task table: its input kind, request type and the JSON body derived
from that type.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

import msgspec
from litestar import Request

from gateway.schema import (
    InputKind,
    InvalidInput,
    Media,
    PayloadTooLarge,
    Task,
    TaskRequest,
    TaskSpec,
    UnprocessableInput,
    UnsupportedMediaType,
    normalize_language,
    spec_of,
)
from gateway.schema.requests import MediaRef
from gateway.server.config import Limits
from gateway.server.sniff import audio_media, image_media

SYNTH_FORMATS = frozenset({"wav", "mp3", "ogg", "pcm"})


async def decode_request(task: Task, request: Request[Any, Any, Any], limits: Limits) -> TaskRequest:
    spec = spec_of(task)
    media = spec.media_field
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    max_body = limits.max_audio_bytes if spec.input is InputKind.AUDIO else limits.max_image_bytes
    max_body = max(max_body, limits.max_text_chars * 4) * 2  # base64 and JSON overhead
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_body:
        raise PayloadTooLarge(f"the body is {declared} bytes; the limit is {max_body}")
    if ctype == "multipart/form-data":
        fields = await _form_fields(request, media)
        return _build(spec, fields, limits)
    body = await request.body()
    if ctype == "application/json" or (ctype == "" and media is None):
        return _from_json(spec, body, limits)
    if ctype == "text/plain" and spec.input is InputKind.TEXT:
        fields = dict(request.query_params)
        fields["text"] = _utf8(body)
        return _build(spec, fields, limits)
    if media is not None:
        fields = dict(request.query_params)
        fields[media] = body
        return _build(spec, fields, limits)
    raise UnsupportedMediaType(f"{task} takes application/json, not {ctype or 'a body without Content-Type'}")


def _utf8(body: bytes) -> str:
    try:
        return body.decode()
    except UnicodeDecodeError:
        raise InvalidInput("the text is not valid UTF-8") from None


async def _form_fields(request: Request[Any, Any, Any], media: str | None) -> dict[str, Any]:
    form = await request.form()
    fields: dict[str, Any] = {}
    for name, value in form.multi_items():
        if hasattr(value, "read"):
            fields[name] = await value.read()
        else:
            fields[name] = value
    if media is not None and media not in fields:
        raise InvalidInput(f"the multipart body has no '{media}' file field", field=media)
    return fields


def _from_json(spec: TaskSpec[Any, Any], body: bytes, limits: Limits) -> TaskRequest:
    if not body.strip():
        raise InvalidInput(f"{spec.task} needs a JSON body")
    try:
        parsed = msgspec.json.decode(body, type=spec.body)
    except msgspec.ValidationError as exc:
        raise UnprocessableInput(f"the JSON body is not valid for {spec.task}: {exc}") from None
    except msgspec.DecodeError as exc:
        raise InvalidInput(f"the body is not valid JSON: {exc}") from None
    fields = msgspec.structs.asdict(parsed)
    if spec.media_field is not None:
        fields[spec.media_field] = _ref_bytes(fields[spec.media_field], spec.media_field, limits)
    return _build(spec, fields, limits)


def _ref_bytes(ref: MediaRef, field: str, limits: Limits) -> bytes:
    if ref.base64 is not None and ref.url is None:
        try:
            return base64.b64decode(ref.base64, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput(f"{field}.base64 is not valid base64", field=f"{field}.base64") from None
    if ref.url is not None and ref.base64 is None:
        if not limits.allow_urls:
            raise UnprocessableInput(f"{field}.url: this gateway does not fetch URLs; send the bytes", field=field)
        raise UnprocessableInput(f"{field}.url: URL inputs are not supported yet; send the bytes", field=field)
    raise UnprocessableInput(f"{field} must have exactly one of 'base64' or 'url'", field=field)


def _build(spec: TaskSpec[Any, Any], fields: Mapping[str, Any], limits: Limits) -> TaskRequest:
    f = {k: v for k, v in fields.items() if v is not None}
    media = spec.media_field
    if media is not None:
        f[media] = _media(spec.input, _bytes(f.pop(media)), limits)
    else:
        f["text"] = _text(f.get("text"), limits)
    names = {info.name for info in msgspec.structs.fields(spec.request)}
    for name in names:
        if name.endswith("language"):
            value = _lang(f, name)
            f.pop(name, None)
            f.update(value)
    if "format" in names and media is None:  # the synthesized audio's format
        fmt = str(f.get("format", "wav")).lower()
        if fmt not in SYNTH_FORMATS:
            raise UnprocessableInput(f"format must be one of {sorted(SYNTH_FORMATS)}, got {fmt!r}", field="format")
        f["format"] = fmt
    for info in msgspec.structs.fields(spec.request):
        if info.required and info.name not in f:
            raise UnprocessableInput(f"{info.name} is required", field=info.name)
    return _convert(spec.request, f, spec.task)


def _media(kind: InputKind, data: bytes, limits: Limits) -> Media:
    if kind is InputKind.AUDIO:
        return audio_media(data, max_bytes=limits.max_audio_bytes)
    return image_media(data, max_bytes=limits.max_image_bytes, max_pixels=limits.max_image_pixels)


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


def _text(value: Any, limits: Limits) -> str:
    if not isinstance(value, str) or not value.strip():
        raise UnprocessableInput("text must be a non-empty string", field="text")
    if len(value) > limits.max_text_chars:
        raise PayloadTooLarge(f"text has {len(value)} characters; the limit is {limits.max_text_chars}", field="text")
    return value


def _lang(fields: Mapping[str, Any], name: str) -> dict[str, str]:
    value = fields.get(name)
    if value in (None, ""):
        return {}
    try:
        return {name: normalize_language(str(value))}
    except ValueError as exc:
        raise UnprocessableInput(f"{name}: {exc}", field=name) from None


def _convert(cls: type[TaskRequest], fields: dict[str, Any], task: Task) -> TaskRequest:
    fields = {k: v for k, v in fields.items() if v is not None}
    try:
        return msgspec.convert(fields, cls, strict=False, from_attributes=True)
    except msgspec.ValidationError as exc:
        raise UnprocessableInput(f"invalid field for {task}: {exc}") from None
