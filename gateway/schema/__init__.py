"""The contract every part of Omnisense shares: tasks, requests, results, errors.

This package imports nothing else of the project.
"""

from gateway.schema.envelope import AnyEnvelope, Attempt, Envelope, Outcome, Problem, Usage
from gateway.schema.errors import (
    BudgetExceeded,
    Forbidden,
    InternalError,
    InvalidInput,
    NoProvider,
    NotFound,
    OmnisenseError,
    PayloadTooLarge,
    RateLimited,
    Unauthorized,
    UnprocessableInput,
    Unsupported,
    UnsupportedMediaType,
    UpstreamAuth,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamThrottled,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from gateway.schema.languages import normalize_language, primary
from gateway.schema.providers import Health, Price, ProviderInfo, TaskSupport
from gateway.schema.requests import (
    ImageRequest,
    Media,
    RoutingHints,
    SynthesizeRequest,
    TaskRequest,
    TextRequest,
    TranscribeRequest,
    TranslateRequest,
    request_language,
    request_units,
)
from gateway.schema.results import (
    Box,
    ConventionError,
    DetectedLanguage,
    DetectedObject,
    EntitiesResult,
    Entity,
    Face,
    FacesResult,
    ImageSize,
    KeyPhrase,
    KeyPhrasesResult,
    Label,
    LabelsResult,
    Landmark,
    LanguageResult,
    ModerationFlag,
    ModerationResult,
    ObjectsResult,
    OcrLine,
    OcrResult,
    SentimentResult,
    SentimentScores,
    SynthesizeResult,
    TaskResult,
    TranscribeResult,
    TranslateResult,
    Word,
)
from gateway.schema.tasks import Task, Unit, unit_of

RESULT_TYPES: dict[Task, type[TaskResult]] = {
    Task.VISION_LABELS: LabelsResult,
    Task.VISION_OBJECTS: ObjectsResult,
    Task.VISION_FACES: FacesResult,
    Task.VISION_OCR: OcrResult,
    Task.VISION_MODERATION: ModerationResult,
    Task.TEXT_SENTIMENT: SentimentResult,
    Task.TEXT_ENTITIES: EntitiesResult,
    Task.TEXT_KEY_PHRASES: KeyPhrasesResult,
    Task.TEXT_LANGUAGE: LanguageResult,
    Task.TEXT_TRANSLATE: TranslateResult,
    Task.SPEECH_SYNTHESIZE: SynthesizeResult,
    Task.SPEECH_TRANSCRIBE: TranscribeResult,
}

__all__ = [
    "RESULT_TYPES", "AnyEnvelope", "Attempt", "Box", "BudgetExceeded", "ConventionError",
    "DetectedLanguage", "DetectedObject", "EntitiesResult", "Entity", "Envelope", "Face",
    "FacesResult", "Forbidden", "Health", "ImageRequest", "ImageSize", "InternalError",
    "InvalidInput", "KeyPhrase", "KeyPhrasesResult", "Label", "LabelsResult", "Landmark",
    "LanguageResult", "Media", "ModerationFlag", "ModerationResult", "NoProvider", "NotFound",
    "ObjectsResult", "OcrLine", "OcrResult", "OmnisenseError", "Outcome", "PayloadTooLarge",
    "Price", "Problem", "ProviderInfo", "RateLimited", "RoutingHints", "SentimentResult",
    "SentimentScores", "SynthesizeRequest", "SynthesizeResult", "Task", "TaskRequest",
    "TaskResult", "TaskSupport", "TextRequest", "TranscribeRequest", "TranscribeResult",
    "TranslateRequest", "TranslateResult", "Unauthorized", "Unit", "UnprocessableInput",
    "Unsupported", "UnsupportedMediaType", "UpstreamAuth", "UpstreamBadResponse",
    "UpstreamError", "UpstreamThrottled", "UpstreamTimeout", "UpstreamUnavailable", "Usage",
    "Word", "normalize_language", "primary", "request_language", "request_units", "unit_of",
]
