"""What redaction adds to a request (``redact: [pii]``, ``redact: [faces]``), printed as a table.

Run from the repository root with the gateway's venv (it starts the model server itself):

    python bench/redaction.py [--quick]

It measures the gateway's own redaction step, ``RedactionSession.request_for`` plus the map
back of an entities answer (what a request to an untrusted provider waits for before the
vendor is called), against the real model server started by the gateway's supervisor:

- text: p50 / p99 per request for 200- and 5,000-character texts holding names, emails,
  phones and card numbers;
- faces: blurring per megapixel, for images of 0.25, 1 and 4 Mpixel (one face each).

Baseline, measured in the same run: one ``POST /capabilities`` round trip through the same
provider (the HTTP floor of the model server: what any redaction call pays before work).
Server and load generator share the machine's cores; calls are sequential (concurrency 1).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.local.config import LocalConfig  # noqa: E402
from adapters.local.provider import LocalProvider  # noqa: E402
from adapters.local.supervisor import ModelServer, default_command  # noqa: E402
from gateway.logs.record import RequestLog  # noqa: E402
from gateway.redaction.session import Redaction, map_back  # noqa: E402
from omnisense.schema import EntitiesResult, Entity, ImageRequest, Media, Task, TextRequest  # noqa: E402
from policies.model import PolicyFile, RedactorSettings, Route  # noqa: E402

SENTENCES = [
    "Please call John Smith on +1 415-555-0132 about the order.",
    "The invoice went to mary.jones@example.com last Tuesday.",
    "Pay with card 4111 1111 1111 1111 before the end of the month.",
    "Our team met in the office to plan the next quarter's work.",
    "Anna Berg can be reached at anna.berg@example.org or +44 20 7946 0958.",
]


def text_of(chars: int) -> str:
    out, i = "", 0
    while len(out) < chars:
        out += SENTENCES[i % len(SENTENCES)] + " "
        i += 1
    return out[:chars]


def face_png(megapixels: float) -> bytes:
    from PIL import Image

    found = sorted((ROOT / "local_models").glob(".venv/lib/python3*/site-packages/skimage/data/astronaut.png"))
    img = Image.open(found[0]).convert("RGB")  # 512 x 512, one face
    side = round((megapixels * 1e6) ** 0.5)
    buf = io.BytesIO()
    img.resize((side, side)).save(buf, "PNG")
    return buf.getvalue()


async def timed(n: int, call: Callable[[], Awaitable[object]]) -> list[float]:
    await call()  # warm
    out = []
    for _ in range(n):
        start = time.perf_counter()
        await call()
        out.append((time.perf_counter() - start) * 1000.0)
    return out


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(quick: bool) -> list[tuple[str, int, float, float, str]]:
    port = 3077
    url = f"http://127.0.0.1:{port}"
    server = ModelServer(default_command("127.0.0.1", port), url, start_timeout_s=300)
    await server.start()
    provider = LocalProvider("local", LocalConfig(url=url, timeout_s=120))
    await provider.start()
    try:
        policy = PolicyFile(
            providers={"vendor": {"kind": "google"}, "local": {"kind": "local", "url": url}},
            redactor=RedactorSettings(timeout_s=120),  # measure, never time out
        )
        redaction = Redaction(policy, {"local": provider})
        rows: list[tuple[str, int, float, float, str]] = []
        floor = await timed(20 if quick else 100, lambda: provider._post("/capabilities", {}, timeout_s=30))
        rows.append(("baseline: POST /capabilities", len(floor), p(floor, 0.5), p(floor, 0.99), "HTTP floor"))
        for chars, n in ((200, 20 if quick else 200), (5000, 10 if quick else 60)):
            text = text_of(chars)
            request = TextRequest(text=text)

            async def one(request: TextRequest = request) -> None:
                session = redaction.session(Task.TEXT_ENTITIES, Route(redact=["pii"]), _record())
                assert session is not None
                sent = await session.request_for("vendor", request)
                masked = session._prepared.result().masked if session._prepared else None
                assert masked is not None and "<EMAIL_1>" in getattr(sent, "text", "")
                answer = EntitiesResult(entities=[Entity(text="x", type="OTHER", begin=0, end=1, confidence=None)])
                map_back(answer, masked, session.numbering.values())

            ms = await timed(n, one)
            rows.append((f"pii, {chars} characters", n, p(ms, 0.5), p(ms, 0.99), f"x{p(ms, 0.5) / p(floor, 0.5):.0f}"))
        for mp in (0.25, 1.0, 4.0):
            data = face_png(mp)
            image = ImageRequest(image=Media(data=data, format="png"))

            async def blur(image: ImageRequest = image) -> None:
                session = redaction.session(Task.VISION_LABELS, Route(redact=["faces"]), _record())
                assert session is not None
                await session.request_for("vendor", image)

            ms = await timed(3 if quick else 10, blur)
            per_mp = p(ms, 0.5) / mp
            rows.append((f"faces, {mp:g} Mpixel", len(ms), p(ms, 0.5), p(ms, 0.99), f"{per_mp:.0f} ms per Mpixel"))
        return rows
    finally:
        await provider.aclose()
        await server.stop()


def _record() -> RequestLog:
    return RequestLog(request_id="bench", time=time.time(), task="bench", status="ok", http_status=0, latency_ms=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer requests (a smoke run)")
    args = parser.parse_args()
    rows = asyncio.run(run(args.quick))
    print(f"\n{'what the gateway adds':<32} {'n':>5} {'p50 ms':>9} {'p99 ms':>9}  note")
    for name, n, p50, p99, note in rows:
        print(f"{name:<32} {n:>5} {p50:>9.1f} {p99:>9.1f}  {note}")


if __name__ == "__main__":
    main()
