"""The ``local`` provider: models served by Omnisense's own BentoML model server."""
