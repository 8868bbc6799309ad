"""The capability filter: can this provider serve this request at all?"""

from __future__ import annotations

from omnisense.schema import (
    ImageRequest,
    Media,
    ProviderInfo,
    SynthesizeRequest,
    Task,
    TaskRequest,
    TaskSupport,
    TranscribeRequest,
    TranslateRequest,
    VideoRequest,
    primary,
    request_language,
)

TOO_LARGE_PREFIX = "accepts at most"  # every size or length limit's reason starts so
# Reasons about the request's own input (not the provider's offer), and the field each names.
INPUT_REASONS = {
    "does not support language": "language",
    "does not translate": "target_language",
    "does not accept": "",  # the image or audio field
    "does not produce": "format",
    "does not detect": "classes",
    "does not tell speakers apart": "speakers",
    "does not read": "",  # an object reference (s3://, gs://) in the video field
    "does not stream": "stream",
}


def is_size_limit(reason: str) -> bool:
    return reason.startswith(TOO_LARGE_PREFIX)


def input_field_of(reason: str) -> str | None:
    """The request field a capability reason is about ("" for the media field), or None if it is about the task."""
    return next((field for prefix, field in INPUT_REASONS.items() if reason.startswith(prefix)), None)


def unsupported_reason(info: ProviderInfo, task: Task, request: TaskRequest) -> str | None:
    """Why ``info`` cannot serve ``request``, or ``None`` when it can."""
    support = info.capabilities.get(task)
    if support is None:
        return f"does not offer {task}"
    language = request_language(request)
    if language and support.languages is not None and primary(language) not in support.languages:
        return f"does not support language {language!r} for {task}"
    if isinstance(request, TranslateRequest) and support.pairs is not None:
        target = primary(request.target_language)
        if request.source_language:
            source = primary(request.source_language)
            if (source, target) not in support.pairs:
                into = sorted(t for s, t in support.pairs if s == source)
                offer = f" (from {source} only into {', '.join(into)})" if into else ""
                return f"does not translate {request.source_language} -> {request.target_language}{offer}"
        elif not any(t == target for _, t in support.pairs):
            return f"does not translate into {request.target_language}"
    if support.classes is not None and isinstance(request, ImageRequest) and request.classes:
        missing = sorted({c.strip().lower() for c in request.classes} - support.classes)
        if missing:
            offer = ", ".join(sorted(support.classes))
            return f"does not detect {', '.join(missing)} for {task} (its classes: {offer})"
    media = request.image if isinstance(request, ImageRequest) else None
    if isinstance(request, TranscribeRequest):
        media = request.audio
        if request.diarize and not support.diarization:
            return f"does not tell speakers apart for {task} (speakers)"
    if isinstance(request, VideoRequest):
        media = request.video
        why = _video_reason(support, task, media)
        if why is not None:
            return why
    if media is not None:
        if support.formats is not None and media.format not in support.formats:
            return f"does not accept {media.format} input for {task}"
        if support.max_bytes is not None and media.size > support.max_bytes:
            return f"{TOO_LARGE_PREFIX} {support.max_bytes} bytes for {task}"
        pixels = (media.width or 0) * (media.height or 0)
        if support.max_pixels is not None and pixels > support.max_pixels:
            return f"{TOO_LARGE_PREFIX} {support.max_pixels} pixels for {task} (max_pixels; this image has {pixels})"
        seconds = media.duration_s
        if support.max_seconds is not None and seconds is not None and seconds > support.max_seconds:
            limit = f"{support.max_seconds:g} s of {'video' if isinstance(request, VideoRequest) else 'audio'}"
            return f"{TOO_LARGE_PREFIX} {limit} for {task} (max_seconds; this is {seconds:.1f} s)"
    synth_format = request.format if isinstance(request, SynthesizeRequest) else None
    if synth_format is not None and support.formats is not None and synth_format not in support.formats:
        return f"does not produce {synth_format} audio"
    if isinstance(request, SynthesizeRequest) and request.stream and not support.streaming:
        return f"does not stream {task} (stream)"
    text = getattr(request, "text", None)
    if isinstance(text, str) and support.max_chars is not None and len(text) > support.max_chars:
        return f"{TOO_LARGE_PREFIX} {support.max_chars} characters for {task}"
    if (
        support.max_bytes is not None
        and isinstance(text, str)
        and media is None
        and len(text.encode()) > support.max_bytes
    ):
        return f"{TOO_LARGE_PREFIX} {support.max_bytes} bytes of UTF-8 text for {task}"  # encoded only for a limit
    return None


def _video_reason(support: TaskSupport, task: Task, media: Media) -> str | None:
    if media.uri:
        bucket = media.bucket
        if bucket not in support.buckets:
            offer = f" (it reads {', '.join(support.buckets)})" if support.buckets else ""
            return f"does not read objects from {bucket} for {task}{offer}"
        return None
    if support.codecs is not None and media.codec is not None and media.codec not in support.codecs:
        return f"does not accept {media.codec} video for {task} (its codecs: {', '.join(sorted(support.codecs))})"
    return None
