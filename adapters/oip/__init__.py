"""The ``oip`` provider: a team's own model behind any Open Inference Protocol (V2) server.

Seldon MLServer, KServe and Triton speak the same REST protocol. One provider block serves
one task through a declared mapping (``adapters.oip.config``) from the task's request to
the model's input tensors and from its output tensors to the normalized result.
"""
