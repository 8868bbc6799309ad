"""``omnisense mcp``: the task table as Model Context Protocol tools (the official ``mcp``
SDK, the ``mcp`` extra), over stdio or streamable HTTP.

Each tool is one task: its name (``text_sentiment`` for text.sentiment), a description
and the JSON schema of the task's JSON body (``omnisense.schema`` TABLE, ``spec.body``):
images and audio as ``{"base64": ...}`` or ``{"url": ...}``. A call is that body sent to
the gateway's own endpoint with the caller's gateway API key, so it goes through the same
dispatcher, policies, budgets, URL rules and log as any native call (the record notes
``dialect: mcp``); the answer is the normalized envelope as structured content, an error
the gateway's problem as a tool error.
"""
