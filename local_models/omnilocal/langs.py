"""Language codes: BCP-47 in the API, ISO 639-2/3 inside tesseract and apertium."""

from __future__ import annotations

from typing import Any

from .errors import invalid

# ISO 639-2/3 codes used by tesseract traineddata and apertium mode names.
ISO3_TO_BCP47: dict[str, str] = {
    "afr": "af",
    "ara": "ar",
    "bel": "be",
    "bul": "bg",
    "cat": "ca",
    "ces": "cs",
    "cym": "cy",
    "dan": "da",
    "deu": "de",
    "ell": "el",
    "eng": "en",
    "epo": "eo",
    "est": "et",
    "eus": "eu",
    "fas": "fa",
    "fin": "fi",
    "fra": "fr",
    "gle": "ga",
    "glg": "gl",
    "heb": "he",
    "hin": "hi",
    "hrv": "hr",
    "hun": "hu",
    "ind": "id",
    "isl": "is",
    "ita": "it",
    "jpn": "ja",
    "kor": "ko",
    "lav": "lv",
    "lit": "lt",
    "mkd": "mk",
    "nld": "nl",
    "nob": "nb",
    "nno": "nn",
    "oci": "oc",
    "pol": "pl",
    "por": "pt",
    "ron": "ro",
    "rus": "ru",
    "slk": "sk",
    "slv": "sl",
    "spa": "es",
    "sqi": "sq",
    "srp": "sr",
    "swe": "sv",
    "tur": "tr",
    "ukr": "uk",
    "vie": "vi",
    "chi_sim": "zh-Hans",
    "chi_tra": "zh-Hant",
    "hbs": "sh",
}
BCP47_TO_ISO3: dict[str, str] = {v: k for k, v in ISO3_TO_BCP47.items()}


def normalize(code: Any) -> str:
    """Canonical BCP-47 casing: language lower, script title, region upper.

    ``en_us`` and ``EN-us`` both become ``en-US``. Raises invalid_input for
    anything that is not a plausible tag.
    """
    if not isinstance(code, str) or not code.strip():
        raise invalid("language code is empty")
    parts = code.strip().replace("_", "-").split("-")
    if not all(p.isalnum() and 1 <= len(p) <= 8 for p in parts):
        raise invalid(f"{code!r} is not a BCP-47 language code")
    out = [parts[0].lower()]
    for part in parts[1:]:
        if "x" in out[1:] or part.lower() == "x":
            out.append(part.lower())  # private-use subtags: keep lower case
        elif len(part) == 4 and part.isalpha():
            out.append(part.title())
        elif len(part) == 2 and part.isalpha():
            out.append(part.upper())
        else:
            out.append(part.lower())
    return "-".join(out)


def base(code: str) -> str:
    """The primary language subtag: ``en-US`` -> ``en``."""
    return code.split("-", 1)[0].lower()


def from_iso3(code: str) -> str:
    """A tesseract/apertium code (``eng``, ``spa``, ``eng_US``) as BCP-47."""
    if code in ISO3_TO_BCP47:
        return ISO3_TO_BCP47[code]
    lang, _, region = code.partition("_")
    lang = ISO3_TO_BCP47.get(lang, lang)
    return normalize(f"{lang}-{region}") if region else normalize(lang)


def matches(requested: str, offered: str) -> bool:
    """True when a requested tag is served by an offered one (``en-US`` by ``en``)."""
    return requested == offered or base(requested) == offered
