"""Azure's documented answers, as data for the Azure wire fake.

Each body below is the 200/202 response of the operation's example in Azure's REST API
specifications (``specification/cognitiveservices/data-plane/ComputerVision/stable/v3.2/examples``,
``.../Language/stable/2023-04-01/examples``, Translator v3.0's reference, the Speech REST
reference for short audio, Content Safety 2023-10-01's examples), trimmed to the fields an
operation returns. Where an answer depends on the input (text analytics, translation) the
fake builds it in the documented shape from the request (``azure.py``).
"""

from __future__ import annotations

from typing import Any

# ComputerVision v3.2 examples/SuccessfulAnalyzeImageWithStream.json (one field per visualFeature).
ANALYZE: dict[str, Any] = {
    "requestId": "0dbec5ad-a3d3-4f7e-96b4-dfd57efe967d",
    "metadata": {"width": 1500, "height": 1000, "format": "Jpeg"},
    "modelVersion": "2021-04-01",
}
ANALYZE_FEATURES: dict[str, dict[str, Any]] = {
    "Tags": {
        "tags": [
            {"name": "person", "confidence": 0.98979085683822632},
            {"name": "man", "confidence": 0.94493889808654785},
            {"name": "outdoor", "confidence": 0.938492476940155},
            {"name": "window", "confidence": 0.89513939619064331},
            {"name": "pangolin", "confidence": 0.7250059783791661, "hint": "mammal"},
        ]
    },
    "Objects": {
        "objects": [
            {
                "rectangle": {"x": 0, "y": 0, "w": 50, "h": 50},
                "object": "tree",
                "confidence": 0.9,
                "parent": {"object": "plant", "confidence": 0.95},
            }
        ]
    },
    "Faces": {
        "faces": [
            {"age": 44, "gender": "Male", "faceRectangle": {"left": 593, "top": 160, "width": 250, "height": 250}}
        ]
    },
    "Adult": {
        "adult": {
            "isAdultContent": False,
            "isRacyContent": False,
            "isGoryContent": False,
            "adultScore": 0.0934349000453949,
            "racyScore": 0.068613491952419281,
            "goreScore": 0.012872257380997575,
        }
    },
}


def _line(box: list[int], text: str, words: list[tuple[list[int], str, float]]) -> dict[str, Any]:
    return {
        "boundingBox": box,
        "appearance": {"style": {"name": "other", "confidence": 0.995}},
        "text": text,
        "words": [{"boundingBox": b, "text": t, "confidence": c} for b, t, c in words],
    }


# ComputerVision v3.2 examples/SuccessfulGetReadResult.json (page 1's first line, page 2).
READ_RESULT: dict[str, Any] = {
    "status": "succeeded",
    "createdDateTime": "2019-10-03T14:32:04.236Z",
    "lastUpdatedDateTime": "2019-10-03T14:38:14.852Z",
    "analyzeResult": {
        "version": "v3.2",
        "modelVersion": "2021-04-12",
        "readResults": [
            {
                "page": 1,
                "language": "en",
                "angle": 49.59,
                "width": 600,
                "height": 400,
                "unit": "pixel",
                "lines": [
                    _line(
                        [202, 618, 2047, 643, 2046, 840, 200, 813],
                        "Our greatest glory is not",
                        [
                            ([204, 627, 481, 628, 481, 830, 204, 829], "Our", 0.164),
                            ([519, 628, 1057, 630, 1057, 832, 518, 830], "greatest", 0.164),
                            ([1114, 630, 1549, 631, 1548, 833, 1114, 832], "glory", 0.164),
                            ([1586, 631, 1785, 632, 1784, 834, 1586, 833], "is", 0.164),
                            ([1822, 632, 2115, 633, 2115, 835, 1822, 834], "not", 0.164),
                        ],
                    )
                ],
            },
            {
                "page": 2,
                "language": "en",
                "angle": 1.32,
                "width": 600,
                "height": 400,
                "unit": "pixel",
                "lines": [
                    _line(
                        [1612, 903, 2744, 935, 2738, 1139, 1607, 1107],
                        "in never failing ,",
                        [
                            ([1611, 934, 1707, 933, 1708, 1147, 1613, 1147], "in", 0.164),
                            ([1753, 933, 2132, 930, 2133, 1144, 1754, 1146], "never", 0.999),
                            ([2162, 930, 2673, 927, 2674, 1140, 2164, 1144], "failing", 0.164),
                            ([2703, 926, 2788, 926, 2790, 1139, 2705, 1140], ",", 0.164),
                        ],
                    )
                ],
            },
        ],
    },
}
READ_RUNNING: dict[str, Any] = {
    "status": "running",
    "createdDateTime": "2019-10-03T14:32:04.236Z",
    "lastUpdatedDateTime": "2019-10-03T14:32:04.236Z",
}

# Speech REST for short audio, "Response parameters" example with format=detailed
# (numbers come as strings there; Offset and Duration are 100-ns ticks).
RECOGNITION: dict[str, Any] = {
    "RecognitionStatus": "Success",
    "Offset": "1236645672289",
    "Duration": "1236645672289",
    "NBest": [
        {
            "Confidence": "0.9052885",
            "Display": "What's the weather like?",
            "ITN": "what's the weather like",
            "Lexical": "what's the weather like",
            "MaskedITN": "what's the weather like",
        },
        {
            "Confidence": "0.92459863",
            "Display": "what is the weather like",
            "ITN": "what is the weather like",
            "Lexical": "what is the weather like",
            "MaskedITN": "what is the weather like",
        },
    ],
}

# Speech REST voices list: two entries of the documented answer.
VOICES: list[dict[str, Any]] = [
    {
        "Name": "Microsoft Server Speech Text to Speech Voice (en-US, JennyNeural)",
        "DisplayName": "Jenny",
        "LocalName": "Jenny",
        "ShortName": "en-US-JennyNeural",
        "Gender": "Female",
        "Locale": "en-US",
        "LocaleName": "English (United States)",
        "SampleRateHertz": "24000",
        "VoiceType": "Neural",
        "Status": "GA",
        "WordsPerMinute": "152",
    },
    {
        "Name": "Microsoft Server Speech Text to Speech Voice (en-US, GuyNeural)",
        "DisplayName": "Guy",
        "LocalName": "Guy",
        "ShortName": "en-US-GuyNeural",
        "Gender": "Male",
        "Locale": "en-US",
        "LocaleName": "English (United States)",
        "SampleRateHertz": "24000",
        "VoiceType": "Neural",
        "Status": "GA",
        "WordsPerMinute": "143",
    },
]

# Translator v3.0 GET /languages?scope=translation (three entries of the documented answer).
LANGUAGES: dict[str, Any] = {
    "translation": {
        "af": {"name": "Afrikaans", "nativeName": "Afrikaans", "dir": "ltr"},
        "ar": {"name": "Arabic", "nativeName": "العربية", "dir": "rtl"},
        "es": {"name": "Spanish", "nativeName": "Español", "dir": "ltr"},
    }
}

# Content Safety 2023-10-01 examples: AnalyzeText / AnalyzeImage (FourSeverityLevels).
TEXT_ANALYSIS: dict[str, Any] = {
    "blocklistsMatch": [],
    "categoriesAnalysis": [
        {"category": "Hate", "severity": 0},
        {"category": "SelfHarm", "severity": 0},
        {"category": "Sexual", "severity": 0},
        {"category": "Violence", "severity": 0},
    ],
}
IMAGE_ANALYSIS: dict[str, Any] = {
    "categoriesAnalysis": [
        {"category": "Hate", "severity": 0},
        {"category": "SelfHarm", "severity": 0},
        {"category": "Sexual", "severity": 0},
        {"category": "Violence", "severity": 2},
    ]
}


def _fast_phrase(offset: int, text: str, speaker: int, words: list[tuple[int, int]]) -> dict[str, Any]:
    """One phrase of the fast transcription answer: its words' (offset, duration) in milliseconds."""
    tokens = text.split()
    end = words[-1][0] + words[-1][1]
    return {
        "offsetMilliseconds": offset,
        "durationMilliseconds": end - offset,
        "text": text,
        "words": [
            {"text": t, "offsetMilliseconds": o, "durationMilliseconds": d}
            for t, (o, d) in zip(tokens, words, strict=True)
        ],
        "locale": "en-US",
        "confidence": 0.93554276,
        "speaker": speaker,
    }


# Fast transcription (api-version 2024-11-15), the documented answer with diarization on
# (Sam of Contoso takes a call from Mary), abridged to its first six phrases: the shape,
# field names and speaker numbering of the documentation's example; combinedPhrases holds
# the text of the phrases kept.
_FAST_PHRASES = [
    _fast_phrase(960, "Good afternoon.", 1, [(960, 240), (1200, 400)]),
    _fast_phrase(1600, "This is Sam.", 1, [(1600, 240), (1840, 120), (1960, 280)]),
    _fast_phrase(
        2240, "Thank you for calling Contoso.", 1, [(2240, 240), (2480, 80), (2560, 80), (2640, 320), (2960, 560)]
    ),
    _fast_phrase(3520, "How can I help?", 1, [(3520, 160), (3680, 120), (3800, 80), (3880, 360)]),
    _fast_phrase(5040, "Hi there.", 2, [(5040, 240), (5280, 480)]),
    _fast_phrase(5760, "My name is Mary.", 2, [(5760, 160), (5920, 240), (6160, 120), (6280, 560)]),
]
FAST_TRANSCRIPTION_DIARIZED: dict[str, Any] = {
    "durationMilliseconds": 182439,
    "combinedPhrases": [{"text": " ".join(p["text"] for p in _FAST_PHRASES)}],
    "phrases": _FAST_PHRASES,
}
