"""``{"video": {"uri": "s3://bucket/key.mp4"}}``: an object the provider reads itself, never the gateway.

The gateway holds no credentials for a caller's buckets, so it neither fetches nor decodes
the object: the reference travels as ``Media(uri=...)`` with the format its extension names,
and the capability filter (``policies.capabilities``) sends it only to a provider whose
block names the bucket (``buckets: [s3://media-in]``; each task's ``TaskSupport.buckets``).
Where no candidate reads that bucket the request is a 422 naming the bucket and what each
provider reads. The length is then the provider's: the request is billed by the answer's
``video.duration_s`` (``omnisense.schema.table.billed_units``).

Only video tasks take references; ``s3://`` and ``gs://`` are the schemes, with a bucket
and a key that ends in a video extension.
"""

from __future__ import annotations

import re

from omnisense.schema import InputKind, Media, UnprocessableInput
from omnisense.schema.requests import VideoRef

SCHEMES = ("s3", "gs")
EXTENSIONS = {"mp4": "mp4", "m4v": "mp4", "mov": "mov", "webm": "webm", "mkv": "mkv"}
# A bucket name as S3 and Cloud Storage allow it (3-63 of lower-case letters, digits, dots, dashes).
_URI = re.compile(r"^(s3|gs)://([a-z0-9][a-z0-9.\-_]{1,61}[a-z0-9])/(.+)$")


def object_media(ref: VideoRef, field: str, kind: InputKind) -> Media:
    """The reference as ``Media``; a 422 naming ``field.uri`` when it is not one the gateway passes on."""
    where = f"{field}.uri"
    if ref.base64 is not None or ref.url is not None:
        raise UnprocessableInput(f"{field} must have exactly one of 'base64', 'url' or 'uri'", field=field)
    if kind is not InputKind.VIDEO:
        raise UnprocessableInput(f"{where}: only video tasks take object references; send the bytes", field=where)
    uri = ref.uri or ""
    match = _URI.match(uri)
    if match is None:
        raise UnprocessableInput(
            f"{where} must be s3://bucket/key or gs://bucket/key, got {uri[:80]!r}",
            field=where,
        )
    extension = match.group(3).rsplit(".", 1)[-1].lower() if "." in match.group(3) else ""
    fmt = EXTENSIONS.get(extension)
    if fmt is None:
        raise UnprocessableInput(
            f"{where}: the key must end in .mp4, .mov, .webm or .mkv (the gateway does not read the object)",
            field=where,
        )
    return Media(data=b"", format=fmt, uri=uri)
