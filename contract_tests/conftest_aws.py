"""Fixtures for the AWS adapter's tests: moto's server, the JSON 1.1 fake, providers.

Not a conftest that pytest loads by itself: test modules import the fixtures they use
(``from contract_tests.conftest_aws import moto_url, aws_fake, ...``).

Layout of the wire: Polly and S3 go straight to moto (the default ``endpoint_url``);
Rekognition, Comprehend, Translate, Textract and Transcribe go to ``AwsJsonFake``
(per-service ``endpoints``), which answers what moto lacks and forwards the rest to moto.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from adapters import registry
from adapters.aws.provider import AwsProvider
from contract_tests.fakes.aws_json import AwsJsonFake
from contract_tests.fakes.aws_transcribe_stream import TranscribeStreamingFake

__all__ = [
    "aws_failing_provider",
    "aws_fake",
    "aws_live_provider",
    "aws_provider",
    "aws_stream_provider",
    "moto_url",
    "transcribe_stream_fake",
]

REGION = "eu-west-1"
BUCKET = "omnisense-test-transcribe"
READ_BUCKET = "omnisense-test-media-in"  # video: a bucket requests may name in {"uri": "s3://..."}
FAKE_SERVICES = ("rekognition", "comprehend", "translate", "textract", "transcribe")


def aws_block(moto: str, fake: str, **overrides: Any) -> dict[str, Any]:
    """A provider block for the fakes, as a policy file would give it."""
    block: dict[str, Any] = {
        "kind": "aws",
        "region": REGION,
        "access_key_id": "testing",
        "secret_access_key": "testing",
        "endpoint_url": moto,
        "endpoints": dict.fromkeys(FAKE_SERVICES, fake),
        "timeout_s": 10,
        "s3_bucket": BUCKET,
        "transcribe_poll_s": 0.02,
        "video_poll_s": 0.02,
        "buckets": [READ_BUCKET],
    }
    block.update(overrides)
    return block


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    import boto3

    s3 = boto3.client("s3", endpoint_url=url, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t")
    # moto's state is per process: another module's server may have made it.
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=READ_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    yield url
    server.stop()


@pytest.fixture(scope="session")
def aws_fake(moto_url: str) -> Iterator[AwsJsonFake]:
    fake = AwsJsonFake(upstream=moto_url).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
async def aws_provider(moto_url: str, aws_fake: AwsJsonFake) -> AsyncIterator[AwsProvider]:
    provider = registry.build("aws", aws_block(moto_url, aws_fake.url))
    yield provider
    await provider.aclose()


@pytest.fixture(scope="session")
async def aws_failing_provider(moto_url: str, aws_fake: AwsJsonFake) -> AsyncIterator[AwsProvider]:
    """Short timeouts for the failure paths (a hung connection must end quickly)."""
    provider = registry.build("aws-failing", aws_block(moto_url, aws_fake.url, timeout_s=1, connect_timeout_s=1))
    yield provider
    await provider.aclose()


def stream_block(fake: TranscribeStreamingFake, **overrides: Any) -> dict[str, Any]:
    """A provider block whose live transcription goes to the Transcribe streaming fake (no bucket)."""
    block: dict[str, Any] = {
        "kind": "aws",
        "region": REGION,
        "access_key_id": fake.access_key_id,
        "secret_access_key": fake.secret_access_key,
        "endpoints": {"transcribestreaming": fake.url},
        "ca_bundle": fake.ca_file,
        "timeout_s": 5,
    }
    block.update(overrides)
    return block


@pytest.fixture(scope="module")
def transcribe_stream_fake() -> Iterator[TranscribeStreamingFake]:
    fake = TranscribeStreamingFake().start()
    yield fake
    fake.stop()


@pytest.fixture
async def aws_stream_provider(transcribe_stream_fake: TranscribeStreamingFake) -> AsyncIterator[AwsProvider]:
    transcribe_stream_fake.reset()
    provider = registry.build("aws-stream", stream_block(transcribe_stream_fake))
    yield provider
    await provider.aclose()


def live_credentials() -> bool:
    """Whether boto3's standard chain finds credentials (for ``-m live``)."""
    if os.environ.get("OMNISENSE_AWS_LIVE") == "0":
        return False
    try:
        import boto3

        return boto3.session.Session().get_credentials() is not None
    except Exception:
        return False


@pytest.fixture(scope="session")
async def aws_live_provider() -> AsyncIterator[AwsProvider]:
    """The provider against real AWS (region/profile/bucket from the environment)."""
    if not live_credentials():
        pytest.skip("no AWS credentials in the standard chain")
    block: dict[str, Any] = {"kind": "aws", "region": os.environ.get("AWS_REGION", "us-east-1"), "timeout_s": 15}
    if os.environ.get("OMNISENSE_AWS_BUCKET"):
        block["s3_bucket"] = os.environ["OMNISENSE_AWS_BUCKET"]
    provider = registry.build("aws-live", block)
    yield provider
    await provider.aclose()
