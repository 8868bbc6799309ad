"""Abstract contract tests, one class per task plus the failure contract.

An adapter's test module subclasses the classes for its tasks once, and gives the
fixture ``provider`` (built against a wire-level fake of its vendor). Every test runs
the real adapter code; a task the provider does not declare is a visible skip.
"""

from contract_tests.abstract.base import ProviderContract
from contract_tests.abstract.failures import FailureContract
from contract_tests.abstract.speech import SynthesizeContract, TranscribeContract
from contract_tests.abstract.table import TableContract
from contract_tests.abstract.text import (
    EntitiesContract,
    KeyPhrasesContract,
    LanguageContract,
    SentimentContract,
    TextModerationContract,
    TranslateContract,
)
from contract_tests.abstract.video import VideoLabelsContract, VideoModerationContract, VideoShotsContract
from contract_tests.abstract.vision import (
    FacesContract,
    LabelsContract,
    ModerationContract,
    ObjectsContract,
    OcrContract,
)

__all__ = [
    "EntitiesContract",
    "FacesContract",
    "FailureContract",
    "KeyPhrasesContract",
    "LabelsContract",
    "LanguageContract",
    "ModerationContract",
    "ObjectsContract",
    "OcrContract",
    "ProviderContract",
    "SentimentContract",
    "SynthesizeContract",
    "TableContract",
    "TextModerationContract",
    "TranscribeContract",
    "TranslateContract",
    "VideoLabelsContract",
    "VideoModerationContract",
    "VideoShotsContract",
]
