"""The Google Cloud adapter (kind ``google``) and Vertex AI endpoints (kind ``vertex``)."""
