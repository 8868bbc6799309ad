"""Seldon MLServer for the OIP tests: its environment (``setup.sh``), the models it serves
(``train.py``) and the session fixture that runs it (``server.py``)."""
