"""Serve inside an empty network namespace and call every task from inside it.

Run by test_offline.py as ``unshare -n sh -c 'ip link set lo up; exec python
offline_check.py LOGFILE'``. Prints one JSON object: {task: HTTP status}, and
the list of network interfaces the namespace has (only ``lo``).
"""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import serverproc
from inputs import SENTENCE, b64_png, sample, text_image


def calls(client: httpx.Client) -> dict[str, Any]:
    tts = client.post("/speech/synthesize", json={"text": SENTENCE})
    audio = tts.json().get("audio", "") if tts.status_code == 200 else ""
    requests: dict[str, tuple[str, dict[str, Any]]] = {
        "capabilities": ("/capabilities", {}),
        "vision.labels": ("/vision/labels", {"image": b64_png(sample("chelsea"))}),
        "vision.faces": ("/vision/faces", {"image": b64_png(sample("astronaut"))}),
        "vision.objects": ("/vision/objects", {"image": b64_png(sample("astronaut"))}),
        "vision.ocr": ("/vision/ocr", {"image": b64_png(text_image())}),
        "text.sentiment": ("/text/sentiment", {"text": "I love it."}),
        "text.language": ("/text/language", {"text": "Ich gehe heute ins Kino."}),
        "text.entities": ("/text/entities", {"text": "Tim Cook works for Apple."}),
        "text.key_phrases": ("/text/key_phrases", {"text": "The red car is fast."}),
        "text.translate": ("/text/translate", {"text": "The cat.", "target_language": "es"}),
        "text.moderation": ("/text/moderation", {"text": "You stupid idiot."}),
        "vision.moderation": ("/vision/moderation", {"image": b64_png(sample("coffee"))}),
        "sentiment (e5)": ("/text/sentiment", {"text": "The service was slow and the food was cold."}),
        "translate (pivot)": (
            "/text/translate",
            {"text": "Le chat.", "target_language": "en", "source_language": "fr"},
        ),
        "ocr (de)": ("/vision/ocr", {"image": b64_png(text_image("Guten Tag")), "language": "de"}),
        "speech.transcribe": ("/speech/transcribe", {"audio": audio}),
        # the gateway's redactor: presidio's email check reads tldextract's suffix list (bundled, never fetched)
        "redact.text": ("/redact/text", {"texts": ["Mail john.smith@example.com, Tim Cook."]}),
        "redact.image": ("/redact/image", {"image": b64_png(sample("astronaut")), "faces": True, "text": True}),
    }
    results: dict[str, Any] = {"speech.synthesize": [tts.status_code, len(audio)]}
    for task, (path, body) in requests.items():
        resp = client.post(path, json=body)
        results[task] = [resp.status_code, resp.text[:120]]
    return results


def main() -> None:
    log = Path(sys.argv[1])
    interfaces = [name for _, name in socket.if_nameindex()]
    port = serverproc.free_port()
    proc = serverproc.start(port, log)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            results = calls(client)
    finally:
        serverproc.stop(proc)
    print(json.dumps({"interfaces": interfaces, "results": results}))


if __name__ == "__main__":
    main()
