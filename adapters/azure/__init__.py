"""The ``azure`` provider kind: Azure AI Vision, Language, Translator, Speech and Content Safety."""
