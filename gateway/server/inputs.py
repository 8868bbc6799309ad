"""Turn an HTTP request into a normalized TaskRequest, or a 4xx that names the problem.

Images and audio come as a multipart upload (field ``image`` / ``audio``), as the raw
body (``Content-Type: image/*``, ``audio/*`` or ``application/octet-stream``, options
in the query string), or in JSON as ``{"image": {"base64": ...}}`` or ``{"url": ...}``
(fetched by ``gateway.server.fetch`` where the operator allows URLs). Text tasks take
JSON (or ``text/plain`` with options in the query string). What a task takes is its row
in the task table: its input kind, request type and the JSON body derived from that type.

Options are checked in one layer: the request types' msgspec constraints (422 naming the
field), whatever form carried them. A query parameter or form field the task does not
know, one given twice, or a query option next to a JSON or multipart body (where options
go in the body) is a 422, like an unknown JSON field.
"""

from __future__ import annotations

import base64
import binascii
import functools
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Request

from gateway.server.config import Limits
from gateway.server.disconnect import ClientGone
from gateway.server.fetch import UrlFetcher
from gateway.server.object_refs import object_media
from gateway.server.problems import unprocessable
from gateway.server.sniff import audio_media, image_media
from gateway.server.video_probe import video_media
from omnisense.schema import (
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
from omnisense.schema.requests import MediaRef, VideoRef

SYNTH_FORMATS = frozenset({"wav", "mp3", "ogg", "pcm"})


def max_body_bytes(task: Task, limits: Limits) -> int:
    """The largest body a task's request may have (its media or text limit, with base64 and JSON overhead).

    The task's route handler gets it as litestar's ``request_max_body_size``, so a chunked
    body over it is cut off while it is read (413), like one whose Content-Length says so."""
    media = media_limit(spec_of(task).input, limits)
    return max(media, limits.max_text_chars * 4) * 2


def media_limit(kind: InputKind, limits: Limits) -> int:
    """The largest image, audio or video upload a task of ``kind`` takes, in bytes."""
    if kind is InputKind.AUDIO:
        return limits.max_audio_bytes
    return limits.max_video_bytes if kind is InputKind.VIDEO else limits.max_image_bytes


async def decode_request(
    task: Task,
    request: Request[Any, Any, Any],
    limits: Limits,
    fetcher: UrlFetcher | None = None,
    *,
    reserved: frozenset[str] = frozenset(),
    headers: Mapping[str, str] | None = None,
) -> TaskRequest:
    """``reserved``: query parameters the endpoint reads itself (the jobs API's ``task``, ``webhook_url``);
    ``headers``: the request's, by lower-case name, when the caller has them at hand."""
    spec = spec_of(task)
    params = (
        [(n, v) for n, v in request.query_params.multi_items() if n not in reserved]
        if request.scope.get("query_string")
        else []
    )
    media = spec.media_field
    headers = request.headers if headers is None else headers
    ctype = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    max_body = max_body_bytes(task, limits)
    declared = headers.get("content-length")
    if declared and declared.isascii() and declared.isdigit() and int(declared) > max_body:
        raise PayloadTooLarge(f"the body is {declared} bytes; the limit is {max_body}")
    if ctype in ("multipart/form-data", "application/json") and params:
        name = params[0][0]
        where = "form" if ctype == "multipart/form-data" else "JSON body"
        raise UnprocessableInput(f"query parameter {name!r}: with a {where}, options go in the {where}", field=name)
    if ctype == "multipart/form-data":
        fields = await _form_fields(request, spec)
        return _build(spec, fields, limits)
    body = await read_body(request, max_body)
    if ctype == "application/json" or (ctype == "" and media is None):
        return await _from_json(spec, body, limits, fetcher)
    if ctype == "text/plain" and spec.input is InputKind.TEXT:
        fields = _options(spec, params, "query parameter")
        fields["text"] = _utf8(body)
        return _build(spec, fields, limits)
    if media is not None:
        fields = _options(spec, params, "query parameter")
        fields[media] = body
        return _build(spec, fields, limits)
    raise UnsupportedMediaType(f"{task} takes application/json, not {ctype or 'a body without Content-Type'}")


async def read_body(request: Request[Any, Any, Any], max_bytes: int) -> bytes:
    """The whole body, read from the ASGI messages; over ``max_bytes`` is a 413 as soon as it
    gets there (a chunked body has no length to check first); a client that leaves while it
    uploads is ``ClientGone``. Called before anything else has read the body.

    litestar's ``Request.body()`` reads through an async generator, which the event loop's
    async-generator hooks add to and remove from a weak set on every request."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientGone("the client went away during the upload")
        chunk: bytes = message.get("body", b"")  # type: ignore[assignment]
        if chunk:
            size += len(chunk)
            if size > max_bytes:
                raise PayloadTooLarge(f"the body is over this endpoint's limit of {max_bytes} bytes")
            chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def decode_body(task: Task, body: bytes, limits: Limits, fetcher: UrlFetcher | None = None) -> TaskRequest:
    """A task's JSON body (as its endpoint takes it) from bytes: the jobs API decodes each input so."""
    return await _from_json(spec_of(task), body, limits, fetcher)


def build_request(task: Task, fields: Mapping[str, Any], limits: Limits) -> TaskRequest:
    """A task request from fields already read (another dialect's body), checked as a form's are."""
    return _build(spec_of(task), fields, limits)


def _utf8(body: bytes) -> str:
    try:
        return body.decode()
    except UnicodeDecodeError:
        raise InvalidInput("the text is not valid UTF-8") from None


async def _form_fields(request: Request[Any, Any, Any], spec: TaskSpec[Any, Any]) -> dict[str, Any]:
    form = await request.form()
    try:
        items = [(name, await value.read() if hasattr(value, "read") else value) for name, value in form.multi_items()]
    finally:
        await form.close()  # the uploads' spooled files (a task route has no HTTP route to close them)
    media = spec.media_field
    if media is not None and all(name != media for name, _ in items):
        raise InvalidInput(f"the multipart body has no '{media}' file field", field=media)
    return _options(spec, items, "multipart field", media=True)


def _options(
    spec: TaskSpec[Any, Any], items: Iterable[tuple[str, Any]], where: str, *, media: bool = False
) -> dict[str, Any]:
    """Fields from a query string or a form: each known to the task, and given once."""
    known = {info.name for info in spec.fields} - {"routing"}  # the body's fields are the request's
    if not media:
        known -= {spec.media_field, "text"}
    fields: dict[str, Any] = {}
    for name, value in items:
        if name not in known:
            takes = ", ".join(sorted(k for k in known if k))
            raise UnprocessableInput(f"unknown {where} {name!r} (this task takes: {takes})", field=name)
        if name in fields:
            raise UnprocessableInput(f"{where} {name!r} is given more than once", field=name)
        fields[name] = value
    return fields


async def _from_json(spec: TaskSpec[Any, Any], body: bytes, limits: Limits, fetcher: UrlFetcher | None) -> TaskRequest:
    if not body.strip():
        raise InvalidInput(f"{spec.task} needs a JSON body")
    try:
        parsed = msgspec.json.decode(body, type=spec.body)
    except msgspec.ValidationError as exc:
        raise unprocessable(exc, f"the JSON body is not valid for {spec.task}") from None
    except msgspec.DecodeError as exc:
        raise InvalidInput(f"the body is not valid JSON: {exc}") from None
    fields = msgspec.structs.asdict(parsed)
    if spec.media_field is not None:
        ref = fields[spec.media_field]
        if isinstance(ref, VideoRef) and ref.uri is not None:
            fields[spec.media_field] = object_media(ref, spec.media_field, spec.input)
        else:
            fields[spec.media_field] = await _ref_bytes(ref, spec.media_field, limits, fetcher)
    return _build(spec, fields, limits)


async def _ref_bytes(ref: MediaRef, field: str, limits: Limits, fetcher: UrlFetcher | None) -> bytes:
    if ref.base64 is not None and ref.url is None:
        try:
            return base64.b64decode(ref.base64, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput(f"{field}.base64 is not valid base64", field=f"{field}.base64") from None
    if ref.url is not None and ref.base64 is None:
        if not limits.allow_urls or fetcher is None:
            raise UnprocessableInput(
                f"{field}.url: this gateway does not fetch URLs; send the bytes", field=f"{field}.url"
            )
        kind = InputKind.AUDIO if field == "audio" else InputKind.VIDEO if field == "video" else InputKind.IMAGE
        return await fetcher.fetch(ref.url, f"{field}.url", media_limit(kind, limits))
    raise UnprocessableInput(f"{field} must have exactly one of 'base64' or 'url'", field=field)


@dataclass(frozen=True, slots=True)
class _Shape:
    """What ``_build`` checks in a task's fields, read once per task from its request type."""

    languages: tuple[str, ...]  # the fields that name a language (normalized to BCP-47)
    synthesizes: bool  # a text task with a ``format``: the synthesized audio's format
    required: tuple[str, ...]


@functools.cache
def _shape(spec: TaskSpec[Any, Any]) -> _Shape:
    names = [info.name for info in spec.fields]
    return _Shape(
        languages=tuple(n for n in names if n.endswith("language")),
        synthesizes="format" in names and spec.media_field is None,
        required=tuple(info.name for info in spec.fields if info.required),
    )


def _build(spec: TaskSpec[Any, Any], fields: Mapping[str, Any], limits: Limits) -> TaskRequest:
    f = {k: v for k, v in fields.items() if v is not None}
    if isinstance(f.get("providers"), str):  # a query parameter or form field: providers=aws,google
        f["providers"] = [name.strip() for name in f["providers"].split(",")]
    if isinstance(f.get("classes"), str):  # a query parameter or form field: classes=person,car
        f["classes"] = [name.strip() for name in f["classes"].split(",")]
    media = spec.media_field
    if media is not None:
        value = f.pop(media)
        f[media] = value if isinstance(value, Media) else _media(spec.input, _bytes(value), limits)
    else:
        f["text"] = _text(f.get("text"), limits, spoken=spec.answers_audio)
    shape = _shape(spec)
    for name in shape.languages:
        if name in f:
            f[name] = _lang(f[name], name)
    if shape.synthesizes:
        fmt = str(f.get("format", "wav")).lower()
        if fmt not in SYNTH_FORMATS:
            raise UnprocessableInput(f"format must be one of {sorted(SYNTH_FORMATS)}, got {fmt!r}", field="format")
        f["format"] = fmt
    for name in shape.required:
        if name not in f:
            raise UnprocessableInput(f"{name} is required", field=name)
    try:
        request: TaskRequest = msgspec.convert(f, spec.request, strict=False, from_attributes=True)
    except msgspec.ValidationError as exc:
        raise unprocessable(exc, f"invalid field for {spec.task}") from None
    return request


def _media(kind: InputKind, data: bytes, limits: Limits) -> Media:
    if kind is InputKind.AUDIO:
        return audio_media(data, max_bytes=limits.max_audio_bytes)
    if kind is InputKind.VIDEO:
        return video_media(data, max_bytes=limits.max_video_bytes)
    return image_media(data, max_bytes=limits.max_image_bytes, max_pixels=limits.max_image_pixels)


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


def _text(value: Any, limits: Limits, *, spoken: bool = False) -> str:
    if not isinstance(value, str) or not value.strip():
        raise UnprocessableInput("text must be a non-empty string", field="text")
    if len(value) > limits.max_text_chars:
        raise PayloadTooLarge(f"text has {len(value)} characters; the limit is {limits.max_text_chars}", field="text")
    if "\x00" in value:
        raise UnprocessableInput("text contains a NUL character", field="text")
    if spoken:
        control = next((c for c in value if unicodedata.category(c) == "Cc" and c not in "\t\n\r"), None)
        if control is not None:
            raise UnprocessableInput(f"text contains the control character U+{ord(control):04X}", field="text")
        if not any(c.isalnum() for c in value):
            raise UnprocessableInput("text has nothing to speak: no letter or digit", field="text")
    return value


def _lang(value: Any, name: str) -> str:
    if not str(value).strip():
        raise UnprocessableInput(f"{name} is empty: leave it out to let the provider decide", field=name)
    try:
        return normalize_language(str(value))
    except ValueError as exc:
        raise UnprocessableInput(f"{name}: {exc}", field=name) from None
