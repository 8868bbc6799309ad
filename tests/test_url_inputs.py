"""``{"image": {"url": ...}}`` inputs: fetched only from allowed hosts, never into private networks.

Everything is local: a stub resolver answers the names the tests use (so the system
resolver is never asked), and a threaded HTTP server on 127.0.0.1 plays the image host.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from litestar.testing import TestClient

from contract_tests import samples
from gateway.logs import MemorySink
from gateway.server import GatewayConfig, create_app
from gateway.server.config import Limits, LogSettings, UrlRules
from gateway.server.fetch import UrlFetcher
from omnisense.schema import PayloadTooLarge, UnprocessableInput

PNG = samples.png()
CLIP = samples.video()


class ImageHost(BaseHTTPRequestHandler):
    hits: list[str]

    def do_GET(self) -> None:
        self.hits.append(self.path)
        url = urlsplit(self.path)
        if url.path == "/cat.png":
            self._send(PNG)
        elif url.path == "/clip.mp4":
            self._send(CLIP)
        elif url.path == "/doc.pdf":
            self._send(b"%PDF-1.7\n" + b"0" * 100)
        elif url.path == "/big":
            self._send(b"\x89PNG\r\n\x1a\n" + b"0" * 300_000, declare=False)
        elif url.path == "/slow":
            time.sleep(2)
            self._send(PNG)
        elif url.path in ("/redirect", "/loop"):
            self.send_response(302)
            self.send_header("Location", parse_qs(url.query).get("to", ["/loop"])[0])
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_error(404)

    def _send(self, body: bytes, declare: bool = True) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if declare:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the gateway stopped at its limit
            self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def host() -> Iterator[tuple[str, list[str]]]:
    """The image host: (its port, the paths it was asked for)."""
    hits: list[str] = []
    handler = type("Handler", (ImageHost,), {"hits": hits})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield str(server.server_address[1]), hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class StubResolver:
    """Answers from a table, counts every question; anything else does not resolve."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.asked.append(host)
        if host not in self.table:
            raise OSError(f"{host}: no such host")
        return self.table[host]


TABLE = {
    "images.test": ["127.0.0.1"],
    "img.cdn.test": ["127.0.0.1"],
    "evil.test": ["10.0.0.1"],
    "split.test": ["93.184.216.34", "10.0.0.5"],
    "meta.test": ["169.254.169.254"],
    "multi.test": ["224.0.0.1"],
    "six.test": ["::1"],
}
RULES = UrlRules(hosts=["images.test", "*.cdn.test", "evil.test", "split.test", "meta.test", "multi.test", "six.test"])


def fetcher(networks: list[str] | None = None, **rules: Any) -> tuple[UrlFetcher, StubResolver]:
    resolver = StubResolver(TABLE)
    base = {"hosts": RULES.hosts, "networks": ["127.0.0.1/32"] if networks is None else networks, **rules}
    return UrlFetcher(UrlRules(**base), resolver=resolver), resolver


async def test_fetches_from_an_allowed_host_connecting_to_the_checked_address(host: tuple[str, list[str]]) -> None:
    port, hits = host
    fetch, resolver = fetcher()
    assert await fetch.fetch(f"http://images.test:{port}/cat.png", "image.url", 1_000_000) == PNG
    assert await fetch.fetch(f"http://img.cdn.test:{port}/cat.png", "image.url", 1_000_000) == PNG
    assert resolver.asked == ["images.test", "img.cdn.test"]  # once per hop: no second answer to swap in
    assert hits == ["/cat.png", "/cat.png"]


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://images.test:{port}/cat.png", "loopback"),  # not allow-listed as a network here
        ("http://evil.test:{port}/cat.png", "private address 10.0.0.1"),
        ("http://split.test:{port}/cat.png", "private address 10.0.0.5"),
        ("http://meta.test/latest/meta-data/", "link-local"),
        ("http://169.254.169.254/latest/meta-data/", "not on this gateway's allow-list"),
        ("http://multi.test:{port}/", "multicast"),
        ("http://six.test:{port}/", "loopback"),
        ("http://other.test:{port}/cat.png", "not on this gateway's allow-list"),
        ("http://user:pw@images.test:{port}/cat.png", "credentials"),
        ("file:///etc/passwd", "only http and https"),
        ("http://images.test:99999/", "not a valid URL"),
    ],
)
async def test_refuses_before_connecting(host: tuple[str, list[str]], url: str, words: str) -> None:
    port, hits = host
    fetch, _ = fetcher(networks=[])
    with pytest.raises(UnprocessableInput) as info:
        await fetch.fetch(url.format(port=port), "image.url", 1_000_000)
    assert words in info.value.detail and info.value.field == "image.url"
    assert "pw" not in info.value.detail
    assert hits == []


async def test_literal_addresses_are_checked_too(host: tuple[str, list[str]]) -> None:
    port, hits = host
    fetch = UrlFetcher(UrlRules(hosts=["*"]), resolver=StubResolver({}))
    for url in (f"http://127.0.0.1:{port}/cat.png", f"http://[::ffff:127.0.0.1]:{port}/", "http://169.254.169.254/"):
        with pytest.raises(UnprocessableInput, match="resolves to a"):
            await fetch.fetch(url, "image.url", 1_000_000)
    assert hits == []


async def test_redirects_are_rechecked_and_bounded(host: tuple[str, list[str]]) -> None:
    port, hits = host
    fetch, resolver = fetcher(max_redirects=2)
    ok = f"http://images.test:{port}/redirect?to=http://img.cdn.test:{port}/cat.png"
    assert await fetch.fetch(ok, "image.url", 1_000_000) == PNG
    assert resolver.asked == ["images.test", "img.cdn.test"]
    hits.clear()
    with pytest.raises(UnprocessableInput, match=r"private address 10\.0\.0\.1"):
        await fetch.fetch(f"http://images.test:{port}/redirect?to=http://evil.test:{port}/x", "image.url", 10**6)
    with pytest.raises(UnprocessableInput, match="allow-list"):
        await fetch.fetch(f"http://images.test:{port}/redirect?to=http://localhost:{port}/x", "image.url", 10**6)
    assert hits == [f"/redirect?to=http://evil.test:{port}/x", f"/redirect?to=http://localhost:{port}/x"]
    hits.clear()
    with pytest.raises(UnprocessableInput, match="more than 2 redirects"):
        await fetch.fetch(f"http://images.test:{port}/loop", "image.url", 10**6)
    assert len(hits) == 3


async def test_size_and_time_limits(host: tuple[str, list[str]]) -> None:
    port, _ = host
    fetch, _ = fetcher(timeout_s=0.5)
    with pytest.raises(PayloadTooLarge, match="over the limit of 100000 bytes"):
        await fetch.fetch(f"http://images.test:{port}/big", "image.url", 100_000)
    started = time.monotonic()
    with pytest.raises(UnprocessableInput, match=r"longer than 0\.5 s"):
        await fetch.fetch(f"http://images.test:{port}/slow", "image.url", 100_000)
    assert time.monotonic() - started < 1.5
    with pytest.raises(UnprocessableInput, match="answered HTTP 404"):
        await fetch.fetch(f"http://images.test:{port}/missing", "image.url", 100_000)


@pytest.fixture
def gateway(tmp_path: Path, policy_file: Path, sink: MemorySink) -> Iterator[TestClient]:  # type: ignore[type-arg]
    limits = Limits(allow_urls=True, urls=UrlRules(hosts=["images.test"], networks=["127.0.0.1/32"]))
    config = GatewayConfig(policy=str(policy_file), limits=limits, logs=LogSettings(sink="none"), policy_watch_s=None)
    with TestClient(create_app(config, sink=sink)) as client:
        client.app.state.runtime.fetcher = UrlFetcher(limits.urls, resolver=StubResolver(TABLE))
        yield client


def test_the_gateway_serves_url_inputs_sniffed_like_uploads(
    gateway: TestClient,  # type: ignore[type-arg]
    host: tuple[str, list[str]],
) -> None:
    port, _ = host
    r = gateway.post("/v1/vision/labels", json={"image": {"url": f"http://images.test:{port}/cat.png"}})
    assert r.status_code == 200, r.text
    assert r.json()["result"]["image"] == {"width": 64, "height": 48}
    r = gateway.post("/v1/vision/labels", json={"image": {"url": f"http://images.test:{port}/doc.pdf"}})
    assert r.status_code == 415 and "application/pdf" in r.json()["detail"]
    r = gateway.post("/v1/vision/labels", json={"image": {"url": f"http://evil.test:{port}/cat.png"}})
    assert r.status_code == 422 and r.json()["field"] == "image.url"


def test_a_video_url_is_fetched_and_decoded_like_an_upload(
    gateway: TestClient,  # type: ignore[type-arg]
    host: tuple[str, list[str]],
) -> None:
    port, hits = host
    r = gateway.post("/v1/video/shots", json={"video": {"url": f"http://images.test:{port}/clip.mp4"}})
    assert r.status_code == 200, r.text
    assert r.json()["usage"]["units"] == 2.0 and hits == ["/clip.mp4"]
    r = gateway.post("/v1/video/shots", json={"video": {"url": f"http://images.test:{port}/cat.png"}})
    assert r.status_code == 415 and "PNG image" in r.json()["detail"]


def test_url_inputs_are_off_unless_the_operator_allows_them(client: TestClient) -> None:  # type: ignore[type-arg]
    r = client.post("/v1/vision/labels", json={"image": {"url": "http://images.test/cat.png"}})
    assert r.status_code == 422 and r.json()["field"] == "image.url" and "does not fetch URLs" in r.json()["detail"]
