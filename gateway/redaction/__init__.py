"""Redaction before a vendor sees an input, failing closed (docs/data-protection.md).

``session``: a request's redaction (the dispatcher's hook around every provider call);
``text``: typed placeholders and the way back; ``outputs``: ``redact_output`` on OCR text and
transcripts. The redactor itself runs in the local model server (``/redact/text``,
``/redact/image``), reached through the ``local`` provider (``adapters.base.Redacts``).
"""
