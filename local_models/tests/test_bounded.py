"""One hostile request never makes other requests fail: a call that outlives the
caller's budget answers 504 and stops working, and the requests behind it are served."""

from __future__ import annotations

import concurrent.futures
import time

import httpx

HOSTILE = {"text": "😀" * 100_000}
BUDGET = {"X-Omnisense-Timeout-S": "0.5"}


def test_a_hostile_request_is_cut_off_and_others_are_served(server: str) -> None:
    with httpx.Client(base_url=server, timeout=60) as http:
        start = time.monotonic()
        r = http.post("/text/sentiment", json=HOSTILE, headers=BUDGET)
        assert r.status_code == 504 and r.json()["error"] == "timeout"
        assert time.monotonic() - start < 5

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            hostile = [pool.submit(http.post, "/text/sentiment", json=HOSTILE, headers=BUDGET) for _ in range(3)]
            time.sleep(0.2)
            normal = http.post(
                "/text/sentiment", json={"text": "What a lovely day"}, headers={"X-Omnisense-Timeout-S": "10"}
            )
            assert normal.status_code == 200 and normal.json()["label"] == "positive"
            assert {f.result().status_code for f in hostile} == {504}


def test_the_whole_hostile_text_is_answered_when_there_is_time(server: str) -> None:
    r = httpx.post(f"{server}/text/sentiment", json=HOSTILE, timeout=120)
    assert r.status_code == 200 and r.json()["label"] == "positive"
