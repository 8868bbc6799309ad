"""Async jobs: long audio and batches, persisted next to the request log, resumed after a restart.

``model.py`` the job row and its transitions, ``store.py`` / ``postgres.py`` the two stores
(SQLite, PostgreSQL), ``runner.py`` the worker that claims and runs jobs through the same
dispatchers as requests, ``webhooks.py`` the signed delivery of a finished job.
"""
