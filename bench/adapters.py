"""The cloud adapters' own CPU per call, side by side, against an instant in-process fake.

    python bench/adapters.py [--calls 300]

Each adapter runs its real code path: the request is checked and converted
(``to_vendor``), the vendor's SDK serializes it, signs or authorizes it, "sends" it, parses
the answer and the adapter normalizes it (``from_vendor``); the call runs in the provider's
bounded pool, like in the gateway. Only the socket is replaced, at the SDK's own transport
seam, by an answer prepared before the timing starts: botocore's ``before-send`` event for
boto3, a ``requests`` transport adapter mounted on the Google clients' session. So the
figures are the adapter's (and its SDK's) CPU, not the network's or a fake server's.

CPU is ``time.process_time()`` around N sequential calls (every thread of the process:
the event loop and the pool), divided by N. The "pool round trip" row is the baseline
measured in the same run: an empty function through the same bounded pool, i.e. what any
sync-SDK adapter pays before its own work. This machine drifts by tens of percent
between minutes: compare columns of one run, not runs.
"""

from __future__ import annotations

import os
import sys

if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)  # run as a script: bench/ must not shadow the `adapters` package

import argparse
import asyncio
import base64
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from adapters import registry
from adapters.base import CallContext, Provider
from adapters.kit import BlockingPool
from contract_tests import samples
from contract_tests.abstract.base import image_request
from contract_tests.fakes import aws_json, google
from contract_tests.fakes.scripted import Recorded, Reply
from gateway.schema import SynthesizeRequest, Task, TaskRequest, TextRequest, TranslateRequest

URL = "http://instant.invalid"
TEXT = samples.ENTITIES
REQUESTS: dict[Task, TaskRequest] = {
    Task.VISION_LABELS: image_request(samples.jpeg(), max_results=5),
    Task.VISION_FACES: image_request(samples.jpeg()),
    Task.TEXT_SENTIMENT: TextRequest(text=samples.POSITIVE, language="en"),
    Task.TEXT_ENTITIES: TextRequest(text=TEXT, language="en"),
    Task.TEXT_TRANSLATE: TranslateRequest(text=samples.SENTENCES["en"], target_language="es", source_language="en"),
    Task.SPEECH_SYNTHESIZE: SynthesizeRequest(text="Hello from the benchmark.", format="mp3"),
}

# --- AWS: boto3 clients answered at botocore's before-send event ------------------------------

AWS_TARGETS = {
    Task.VISION_LABELS: ("rekognition", "RekognitionService.DetectLabels"),
    Task.VISION_FACES: ("rekognition", "RekognitionService.DetectFaces"),
    Task.TEXT_SENTIMENT: ("comprehend", "Comprehend_20171127.DetectSentiment"),
    Task.TEXT_ENTITIES: ("comprehend", "Comprehend_20171127.DetectEntities"),
    Task.TEXT_TRANSLATE: ("translate", "AWSShineFrontendService_20170701.TranslateText"),
}
AWS_LABELS = {
    "Labels": [
        {"Name": "Mobile Phone", "Confidence": 99.94, "Instances": [], "Parents": []},
        {"Name": "Electronics", "Confidence": 99.9, "Instances": [], "Parents": []},
    ],
    "LabelModelVersion": "3.0",
}
AWS_SENTIMENT = {
    "Sentiment": "POSITIVE",
    "SentimentScore": {"Positive": 0.98, "Negative": 0.01, "Neutral": 0.01, "Mixed": 0.0},
}


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body

    def read(self, *_: Any, **__: Any) -> bytes:
        body, self.body = self.body, b""
        return body

    def close(self) -> None:
        pass


def _aws_answers() -> dict[str, bytes]:
    def call(handler: Callable[[Recorded], Reply], body: dict[str, Any]) -> bytes:
        reply = handler(Recorded("POST", "/", {}, {}, json.dumps(body).encode()))
        return json.dumps(reply.json).encode()

    translate = {"Text": samples.SENTENCES["en"], "SourceLanguageCode": "en", "TargetLanguageCode": "es"}
    return {
        "RekognitionService.DetectLabels": json.dumps(AWS_LABELS).encode(),
        "RekognitionService.DetectFaces": call(aws_json.detect_faces, {}),
        "Comprehend_20171127.DetectSentiment": json.dumps(AWS_SENTIMENT).encode(),
        "Comprehend_20171127.DetectEntities": call(aws_json.detect_entities, {"Text": TEXT}),
        "AWSShineFrontendService_20170701.TranslateText": call(aws_json.translate_text, translate),
    }


def instant_aws() -> Provider:
    from botocore.awsrequest import AWSResponse

    block = {"kind": "aws", "region": "us-east-1", "access_key_id": "k", "secret_access_key": "s", "endpoint_url": URL}
    provider = registry.build("aws", block)
    answers = _aws_answers()
    audio = b"\xff\xfb\x90\x64" + b"\x00" * 413

    def send(request: Any, **_: Any) -> AWSResponse:
        target = request.headers.get("X-Amz-Target")
        if target is None:  # Polly is REST: the body is the audio
            return AWSResponse(request.url, 200, {"Content-Type": "audio/mpeg"}, _Raw(audio))
        body = answers[target.decode() if isinstance(target, bytes) else target]
        return AWSResponse(request.url, 200, {"Content-Type": "application/x-amz-json-1.1"}, _Raw(body))

    for service in ("rekognition", "comprehend", "translate", "polly"):
        provider.aws.client(service).meta.events.register("before-send", send)  # type: ignore[attr-defined]
    return provider


# --- Google: a requests transport adapter on the REST clients' session -------------------------


def _google_answers() -> dict[str, bytes]:
    """The fake's documented answers, made once (its handlers, never a server), by key."""
    content = base64.b64encode(samples.jpeg()).decode()

    def make(handler: Callable[[Recorded], Reply], path: str, body: dict[str, Any]) -> bytes:
        reply = handler(Recorded("POST", path, {"$alt": "json;enum-encoding=int"}, {}, json.dumps(body).encode()))
        return json.dumps(reply.json).encode()

    def vision(feature: int) -> bytes:
        return make(
            google.annotate,
            "/v1/images:annotate",
            {"requests": [{"image": {"content": content}, "features": [{"type": feature}]}]},
        )

    translate = {"contents": [samples.SENTENCES["en"]], "targetLanguageCode": "es", "sourceLanguageCode": "en"}
    return {
        "labels": vision(4),
        "faces": vision(1),
        "analyzeSentiment": make(
            google.language, "/v2/documents:analyzeSentiment", {"document": {"content": samples.POSITIVE}}
        ),
        "analyzeEntities": make(
            google.language, "/v2/documents:analyzeEntities", {"document": {"content": TEXT}, "encodingType": 3}
        ),
        "translateText": make(google.translation, "/v3/projects/p/locations/global:translateText", translate),
        "synthesize": make(google.synthesize, "/v1/text:synthesize", {"audioConfig": {"audioEncoding": "MP3"}}),
    }


def _google_key(url: str, body: bytes | None) -> str:
    tail = url.split("?", 1)[0].rsplit(":", 1)[-1]
    if tail == "annotate":
        return "labels" if b'"type": 4' in (body or b"") else "faces"
    return tail


def instant_google() -> Provider:
    import requests

    provider = registry.build("gcp", {"kind": "google", "project": "p", "endpoint": URL, "credentials": "anonymous"})
    answers = _google_answers()

    class Instant(requests.adapters.BaseAdapter):
        def send(self, request: Any, **_: Any) -> requests.Response:
            response = requests.Response()
            body = request.body.encode() if isinstance(request.body, str) else request.body
            response.status_code, response.url = 200, request.url
            response._content = answers[_google_key(request.url, body)]
            response.headers["Content-Type"] = "application/json"
            response.request = request
            return response

        def close(self) -> None:
            pass

    for service in ("vision", "language", "translate", "texttospeech"):
        provider.google.client(service)._transport._session.mount(URL, Instant())  # type: ignore[attr-defined]
    return provider


# --- measuring ---------------------------------------------------------------------------------


async def cpu_per_call(run: Callable[[], Awaitable[Any]], calls: int) -> float:
    for _ in range(20):
        await run()
    start = time.process_time()
    for _ in range(calls):
        await run()
    return (time.process_time() - start) / calls * 1000.0


async def measure(calls: int) -> list[tuple[str, float, float]]:
    aws, gcp = instant_aws(), instant_google()
    pool = BlockingPool("baseline", 16)
    baseline = await cpu_per_call(lambda: pool.run(lambda: None), calls)
    rows = [("pool round trip (baseline)", baseline, baseline)]
    for task, request in REQUESTS.items():

        async def once(p: Provider, t: Task = task, r: TaskRequest = request) -> Any:
            return await p.run(t, r, CallContext(request_id="bench", deadline=time.monotonic() + 30))

        aws_ms = await cpu_per_call(lambda: once(aws), calls)
        gcp_ms = await cpu_per_call(lambda: once(gcp), calls)
        rows.append((task.value, aws_ms, gcp_ms))
    pool.shutdown()
    await aws.aclose()
    await gcp.aclose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    rows = asyncio.run(measure(args.calls))
    print(f"adapter CPU per call, ms (process_time over {args.calls} sequential calls, instant in-process fake)")
    print(f"{'task':<28} {'aws':>8} {'google':>8} {'google/aws':>11}")
    for name, aws_ms, gcp_ms in rows:
        print(f"{name:<28} {aws_ms:>8.3f} {gcp_ms:>8.3f} {gcp_ms / aws_ms:>11.2f}")


if __name__ == "__main__":
    main()
