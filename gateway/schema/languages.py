"""BCP-47 language tags: the primary subtags the gateway knows, and normalization.

Only the shape the API uses is accepted: a primary language subtag (ISO 639-1, or a
few ISO 639-3 codes with no two-letter form), an optional script (``Hant``) and an
optional region (``BR``, ``419``). ``pt_br`` and ``PT-br`` normalize to ``pt-BR``.
"""

from __future__ import annotations

import re

ISO_639_1 = frozenset(
    ["aa", "ab", "ae", "af", "ak", "am", "an", "ar", "as", "av", "ay", "az", "ba", "be", "bg", "bh", "bi", "bm", "bn", "bo", "br", "bs", "ca", "ce", "ch", "co", "cr", "cs", "cu", "cv", "cy", "da", "de", "dv", "dz", "ee", "el", "en", "eo", "es", "et", "eu", "fa", "ff", "fi", "fj", "fo", "fr", "fy", "ga", "gd", "gl", "gn", "gu", "gv", "ha", "he", "hi", "ho", "hr", "ht", "hu", "hy", "hz", "ia", "id", "ie", "ig", "ii", "ik", "io", "is", "it", "iu", "ja", "jv", "ka", "kg", "ki", "kj", "kk", "kl", "km", "kn", "ko", "kr", "ks", "ku", "kv", "kw", "ky", "la", "lb", "lg", "li", "ln", "lo", "lt", "lu", "lv", "mg", "mh", "mi", "mk", "ml", "mn", "mr", "ms", "mt", "my", "na", "nb", "nd", "ne", "ng", "nl", "nn", "no", "nr", "nv", "ny", "oc", "oj", "om", "or", "os", "pa", "pi", "pl", "ps", "pt", "qu", "rm", "rn", "ro", "ru", "rw", "sa", "sc", "sd", "se", "sg", "si", "sk", "sl", "sm", "sn", "so", "sq", "sr", "ss", "st", "su", "sv", "sw", "ta", "te", "tg", "th", "ti", "tk", "tl", "tn", "to", "tr", "ts", "tt", "tw", "ty", "ug", "uk", "ur", "uz", "ve", "vi", "vo", "wa", "wo", "xh", "yi", "yo", "za", "zh", "zu"]
)
ISO_639_3_EXTRA = frozenset(["ast", "ceb", "fil", "haw", "hmn", "yue", "zza", "ckb", "kmr", "mni", "sat"])

_TAG = re.compile(
    r"^(?P<lang>[a-zA-Z]{2,3})(?:[-_](?P<script>[a-zA-Z]{4}))?(?:[-_](?P<region>[a-zA-Z]{2}|\d{3}))?$"
)


def normalize_language(tag: str) -> str:
    """Return the canonical form of ``tag`` or raise ``ValueError`` naming the problem."""
    match = _TAG.match(tag.strip())
    if match is None:
        raise ValueError(f"{tag!r} is not a BCP-47 language tag (expected e.g. 'en' or 'pt-BR')")
    lang = match["lang"].lower()
    if lang not in ISO_639_1 and lang not in ISO_639_3_EXTRA:
        raise ValueError(f"unknown language code {tag!r}")
    parts = [lang]
    if match["script"]:
        parts.append(match["script"].title())
    if match["region"]:
        parts.append(match["region"].upper())
    return "-".join(parts)


def primary(tag: str) -> str:
    """``pt-BR`` -> ``pt``: what most capability checks compare."""
    return tag.split("-", 1)[0].lower()
