"""The capability filter: can this provider serve this request at all?"""

from __future__ import annotations

from gateway.schema import (
    ImageRequest,
    ProviderInfo,
    SynthesizeRequest,
    Task,
    TaskRequest,
    TranscribeRequest,
    TranslateRequest,
    primary,
    request_language,
)


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
            if (primary(request.source_language), target) not in support.pairs:
                return f"does not translate {request.source_language} -> {request.target_language}"
        elif not any(t == target for _, t in support.pairs):
            return f"does not translate into {request.target_language}"
    media = request.image if isinstance(request, ImageRequest) else None
    if isinstance(request, TranscribeRequest):
        media = request.audio
    if media is not None and support.formats is not None and media.format not in support.formats:
        return f"does not accept {media.format} input for {task}"
    synth_format = request.format if isinstance(request, SynthesizeRequest) else None
    if synth_format is not None and support.formats is not None and synth_format not in support.formats:
        return f"does not produce {synth_format} audio"
    return limit_reason(info, task, request)


def limit_reason(info: ProviderInfo, task: Task, request: TaskRequest) -> str | None:
    """Which of the provider's declared input limits ``request`` exceeds, or ``None``.

    The reason names the input field, its size and the limit, so that a request no
    candidate can take is refused with a 413 that says which limit it broke."""
    support = info.capabilities.get(task)
    if support is None:
        return None
    media = request.image if isinstance(request, ImageRequest) else None
    if isinstance(request, TranscribeRequest):
        media = request.audio
    field = "image" if isinstance(request, ImageRequest) else "audio"
    if media is not None:
        if support.max_bytes is not None and media.size > support.max_bytes:
            return f"{field} has {media.size} bytes: {info.name} accepts at most {support.max_bytes} (max_bytes)"
        pixels = (media.width or 0) * (media.height or 0)
        if support.max_pixels is not None and pixels > support.max_pixels:
            return f"image has {pixels} pixels: {info.name} accepts at most {support.max_pixels} (max_pixels)"
        seconds = media.duration_s
        if support.max_seconds is not None and seconds is not None and seconds > support.max_seconds:
            return f"audio lasts {seconds:.1f} s: {info.name} accepts at most {support.max_seconds:g} s (max_seconds)"
    text = getattr(request, "text", None)
    if isinstance(text, str) and support.max_chars is not None and len(text) > support.max_chars:
        return f"text has {len(text)} characters: {info.name} accepts at most {support.max_chars} (max_chars)"
    text_bytes = len(text.encode()) if isinstance(text, str) and media is None else 0
    if support.max_bytes is not None and text_bytes > support.max_bytes:
        return f"text has {text_bytes} UTF-8 bytes: {info.name} accepts at most {support.max_bytes} (max_bytes)"
    return None
