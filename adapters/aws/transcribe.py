"""Amazon Transcribe: speech.transcribe with a batch job.

1. The audio goes to the provider's ``s3_bucket`` under ``s3_prefix`` (an ``s3://`` URI in
   ``Media.uri`` is used as it is, and not uploaded or deleted);
2. ``StartTranscriptionJob`` writes its transcript to the same bucket
   (``OutputBucketName``/``OutputKey``), so the gateway reads it back with its own
   credentials (``GetObject``) rather than fetching a URL;
3. ``GetTranscriptionJob`` is polled with backoff (``transcribe_poll_s`` growing x1.5 up to
   ``transcribe_poll_max_s``), never past the request's deadline (``ctx.remaining_s()``):
   a job still running then is ``UpstreamTimeout``;
4. the uploaded audio, the transcript object and the job are deleted afterwards in the
   background, whatever happened (best effort: a failure there is logged, not raised).

No language in the request means ``IdentifyLanguage``. ``speakers`` (diarization) sets
``Settings.ShowSpeakerLabels`` with ``MaxSpeakerLabels`` (the expected count, raised to
Transcribe's minimum of 2; ``true``: ``DEFAULT_MAX_SPEAKERS``); each word's ``speaker_label``
(on the item, or from ``results.speaker_labels.segments``) gives the result's segments.
Word confidences are 0-1 strings; the result's confidence is their mean (null with no word,
or none with a confidence).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from typing import Any

from adapters.aws.clients import AwsClients
from adapters.aws.common import bcp47, parse_s3_uri, raw, request_language
from adapters.base import CallContext, ProviderResult
from adapters.kit import mean, optional_unit, parsed
from adapters.kit.speakers import segments, with_speakers
from omnisense.schema import (
    InvalidInput,
    Task,
    TranscribeRequest,
    TranscribeResult,
    UnprocessableInput,
    Unsupported,
    UpstreamTimeout,
    Word,
    primary,
)

log = logging.getLogger(__name__)

MODEL = "transcribe"
FORMATS = frozenset({"wav", "mp3", "flac", "ogg", "webm", "mp4", "m4a", "amr"})
_LOCALES = (
    "en-US en-GB en-AU en-IN en-IE en-NZ en-ZA es-US es-ES fr-FR fr-CA de-DE de-CH it-IT pt-BR pt-PT "
    "ja-JP ko-KR zh-CN zh-TW hi-IN ar-SA ar-AE nl-NL ru-RU tr-TR sv-SE da-DK pl-PL he-IL id-ID ms-MY "
    "th-TH vi-VN fi-FI no-NO uk-UA cs-CZ ro-RO el-GR hu-HU bg-BG hr-HR sk-SK ca-ES eu-ES gl-ES fa-IR "
    "ta-IN te-IN"
)
LOCALES = frozenset(_LOCALES.split())
MIN_SPEAKERS, MAX_SPEAKERS, DEFAULT_MAX_SPEAKERS = 2, 30, 10  # MaxSpeakerLabels: 2 to 30
DEFAULT_LOCALE = {"en": "en-US", "es": "es-US", "pt": "pt-BR", "zh": "zh-CN", "ar": "ar-SA", "nb": "no-NO"}


def language_code(language: str) -> str:
    """Transcribe's locale for a BCP-47 tag (``en`` -> ``en-US``), or ``Unsupported``."""
    tag = request_language(language)
    assert tag is not None
    if tag in LOCALES:
        return tag
    lang = primary(tag)
    locale = DEFAULT_LOCALE.get(lang) or next((loc for loc in sorted(LOCALES) if primary(loc) == lang), None)
    if locale is None:
        raise Unsupported(f"transcribe does not know language {language!r}", field="language")
    return locale


def job_name(request_id: str) -> str:
    safe = re.sub(r"[^0-9A-Za-z._-]", "-", request_id)[:60]
    return f"omnisense-{safe}-{uuid.uuid4().hex[:12]}"


def to_vendor(request: TranscribeRequest, name: str, media_uri: str, bucket: str, output_key: str) -> dict[str, Any]:
    """``StartTranscriptionJob`` parameters."""
    if request.audio.format not in FORMATS:
        raise Unsupported(f"transcribe does not read {request.audio.format!r} audio", field="audio")
    params: dict[str, Any] = {
        "TranscriptionJobName": name,
        "Media": {"MediaFileUri": media_uri},
        "MediaFormat": request.audio.format,
        "OutputBucketName": bucket,
        "OutputKey": output_key,
    }
    if request.language:
        params["LanguageCode"] = language_code(request.language)
    else:
        params["IdentifyLanguage"] = True
    if request.diarize:
        count = request.speaker_count or DEFAULT_MAX_SPEAKERS
        most = min(MAX_SPEAKERS, max(MIN_SPEAKERS, count))
        params["Settings"] = {"ShowSpeakerLabels": True, "MaxSpeakerLabels": most}
    return params


def from_vendor(transcript: dict[str, Any], job: dict[str, Any]) -> TranscribeResult:
    """The result from Transcribe's transcript JSON (and the finished job's description)."""
    results = transcript["results"]
    text = " ".join(str(t["transcript"]) for t in results["transcripts"]).strip()
    words, labels = [], []
    by_start = _labels_by_start(results.get("speaker_labels"))
    for item in results.get("items") or ():
        if item.get("type") != "pronunciation":
            continue
        best = item["alternatives"][0]
        start, end = float(item["start_time"]), float(item["end_time"])
        words.append(Word(str(best["content"]), start, max(start, end), optional_unit(best.get("confidence"))))
        labels.append(item.get("speaker_label") or by_start.get(str(item["start_time"])))
    conf = mean(w.confidence for w in words)
    code = results.get("language_code") or job.get("LanguageCode")
    turns = None
    if results.get("speaker_labels") is not None or any(labels):
        words = with_speakers(words, labels)
        turns = segments(words)
    language = bcp47(code) if code else None
    return TranscribeResult(text=text, confidence=conf, words=words, language=language, segments=turns)


def _labels_by_start(speaker_labels: dict[str, Any] | None) -> dict[str, str]:
    """The documented ``speaker_labels.segments[].items[]``: a word's start time -> its speaker label."""
    return {
        str(item["start_time"]): str(item["speaker_label"])
        for segment in (speaker_labels or {}).get("segments") or ()
        for item in segment.get("items") or ()
    }


async def wait_for_job(aws: AwsClients, name: str, ctx: CallContext) -> dict[str, Any]:
    """Poll until the job is COMPLETED (returned) or FAILED, within the deadline."""
    delay = aws.config.transcribe_poll_s
    while True:
        response = await aws.call("transcribe", "get_transcription_job", {"TranscriptionJobName": name}, ctx)
        job: dict[str, Any] = response["TranscriptionJob"]
        status = job.get("TranscriptionJobStatus")
        if status == "COMPLETED":
            return job
        if status == "FAILED":
            reason = job.get("FailureReason") or "no reason given"
            raise UnprocessableInput(f"transcribe could not transcribe the audio: {reason}"[:500], field="audio")
        remaining = ctx.remaining_s()
        if remaining <= delay:
            raise UpstreamTimeout(f"{aws.name}: transcription job {name} still {status} at the deadline")
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, aws.config.transcribe_poll_max_s)


def _cleanup(aws: AwsClients, name: str, bucket: str, keys: list[str]) -> None:
    """Best effort: delete what the request left in S3 and the job itself (runs in the pool)."""
    for key in keys:
        try:
            aws.client("s3").delete_object(Bucket=bucket, Key=key)
        except Exception as exc:
            log.warning("aws transcribe cleanup: cannot delete s3://%s/%s: %s", bucket, key, exc)
    try:
        aws.client("transcribe").delete_transcription_job(TranscriptionJobName=name)
    except Exception as exc:
        log.info("aws transcribe cleanup: cannot delete job %s: %s", name, exc)


async def _upload(aws: AwsClients, request: TranscribeRequest, bucket: str, key: str, ctx: CallContext) -> None:
    if not request.audio.data:
        raise InvalidInput("the audio is empty", field="audio")
    params = {"Bucket": bucket, "Key": key, "Body": request.audio.data}
    await aws.call("s3", "put_object", params, ctx)


async def run(aws: AwsClients, task: Task, request: TranscribeRequest, ctx: CallContext) -> ProviderResult:
    bucket = aws.config.s3_bucket
    if not bucket:
        raise Unsupported(f"{aws.name}: speech.transcribe needs s3_bucket in the provider's config")
    name = job_name(ctx.request_id)
    base = f"{aws.config.s3_prefix}{name}"
    output_key = f"{base}.json"
    input_key = None if request.audio.uri else f"{base}.{request.audio.format}"
    if request.audio.uri:
        parse_s3_uri(request.audio.uri)
    media_uri = request.audio.uri or f"s3://{bucket}/{input_key}"
    params = to_vendor(request, name, media_uri, bucket, output_key)  # validates before any upload
    cleanup_keys = [output_key] if input_key is None else [input_key, output_key]
    try:
        if input_key is not None:
            await _upload(aws, request, bucket, input_key, ctx)
        await aws.call("transcribe", "start_transcription_job", params, ctx)
        job = await wait_for_job(aws, name, ctx)
        obj = await aws.call("s3", "get_object", {"Bucket": bucket, "Key": output_key}, ctx)
        body = await aws.run(obj["Body"].read, ctx=ctx)
        transcript = parsed(aws.name, lambda: json.loads(body))
        result = parsed(aws.name, lambda: from_vendor(transcript, job))
    finally:
        aws.background(_cleanup, aws, name, bucket, cleanup_keys)
    return ProviderResult(result=result, model=MODEL, raw=raw(transcript, request.include_raw))
