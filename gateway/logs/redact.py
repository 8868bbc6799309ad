"""Redaction: the last line of defence between a record and a secret.

Records are built without keys or payloads (the key is represented by its id, inputs
by a summary), so the only free text in a record is what errors say: ``error_detail``,
attempt ``detail`` and the planner's ``decisions``. An adapter that quoted a vendor's
message could carry a credential there. The ``Redactor`` scrubs, from those fields:

- every credential value in the policy's provider blocks (fields named like key,
  secret, token, password or credential, at any depth) — known exactly, so replaced
  exactly, whatever its shape;
- the password of any URL in any config value (``endpoint_url: http://u:pw@host``),
  whatever the field is called;
- what looks like a credential anyway: ``Bearer <token>``, AWS access key ids, long
  ``key=value`` secrets (``api_key=...``, ``sig=...``) and the password part of any
  ``scheme://user:password@host`` in the text.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote, urlsplit

import msgspec

from gateway.logs.record import RequestLog

MASK = "[REDACTED]"
SECRET_FIELD = re.compile(r"key|secret|token|passw|credential|auth|signature|sas|dsn|connection", re.IGNORECASE)
MIN_SECRET_LEN = 6  # shorter values (ports, regions) are not worth masking and would mangle text
PATTERNS = [
    re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]*:)[^\s/@]+(?=@)"),
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{6,}"),
    re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    re.compile(
        r"(?i)\b((?:api[_-]?key|access[_-]?key|secret|token|password|sig|signature)[\"']?\s*[:=]\s*)[^\s&,;\"']{6,}"
    ),
]


def secrets_in(blocks: Mapping[str, Any]) -> set[str]:
    """Credential values in provider config blocks (nested mappings and lists included)."""
    found: set[str] = set()

    def walk(value: Any, sensitive: bool) -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                walk(v, sensitive or bool(SECRET_FIELD.search(str(k))))
        elif isinstance(value, list | tuple):
            for v in value:
                walk(v, sensitive)
        elif isinstance(value, str):
            if sensitive and len(value) >= MIN_SECRET_LEN:
                found.add(value)
            found.update(_url_password(value))

    walk(blocks, False)
    return found


def _url_password(value: str) -> set[str]:
    """The password inside a URL value (also percent-decoded), if it has one."""
    if "://" not in value or "@" not in value:
        return set()
    try:
        password = urlsplit(value.strip()).password
    except ValueError:
        return set()
    if not password:
        return set()
    return {password, unquote(password)}  # short ones: the URL pattern masks them where they appear in a URL


MEMO_SIZE, MEMO_MAX_LEN = 4096, 512  # the texts remembered (routing decisions repeat on every request)


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        known = sorted({s for s in secrets if len(s) >= MIN_SECRET_LEN}, key=len, reverse=True)
        self._known = re.compile("|".join(map(re.escape, known))) if known else None
        self._memo: dict[str, str] = {}  # a Redactor's secrets never change: its answers can be kept

    def text(self, value: str) -> str:
        done = self._memo.get(value)
        if done is not None:
            return done
        scrubbed = self._scrub(value)
        if len(value) <= MEMO_MAX_LEN:
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()
            self._memo[value] = scrubbed
        return scrubbed

    def _scrub(self, value: str) -> str:
        if self._known is not None:
            value = self._known.sub(MASK, value)
        for pattern in PATTERNS:
            value = pattern.sub(lambda m: (m.group(1) if m.lastindex else "") + MASK, value)
        return value

    def record(self, r: RequestLog) -> RequestLog:
        """Scrub the free-text fields of ``r`` in place (and return it)."""
        if r.error_detail:
            r.error_detail = self.text(r.error_detail)
        for attempt in r.attempts:
            if attempt.detail:  # one with a detail: scrub them all
                r.attempts = [
                    msgspec.structs.replace(a, detail=self.text(a.detail)) if a.detail else a for a in r.attempts
                ]
                break
        if r.decisions:
            r.decisions = [self.text(d) for d in r.decisions]
        return r


class ScrubbingFilter(logging.Filter):
    """A handler filter that scrubs a record's message and traceback before it is written.

    The gateway's own log lines name providers and request ids, but an exception's text
    (a vendor SDK's, an adapter's bug) may quote an endpoint URL with its password."""

    def __init__(self, scrub: Callable[[str], str]) -> None:
        super().__init__("omnisense-scrub")
        self.scrub = scrub
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler to report
            return True
        scrubbed = self.scrub(message)
        if scrubbed != message:  # only then: formatters that read ``args`` (uvicorn's access log) keep them
            record.msg, record.args = scrubbed, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        return True


@contextmanager
def scrubbed_logging(scrub: Callable[[str], str]) -> Iterator[None]:
    """Scrub every record written by the handlers that exist now (the root's and each logger's)."""
    loggers = [
        logging.getLogger(),
        *(v for v in logging.Logger.manager.loggerDict.values() if isinstance(v, logging.Logger)),
    ]
    handlers = {h for lg in loggers for h in lg.handlers}
    guard = ScrubbingFilter(scrub)
    for handler in handlers:
        handler.addFilter(guard)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(guard)
