"""The ``aws`` provider's policy block, validated with msgspec (the keys and the choice of
``max_attempts: 1``, no SDK retries under the dispatcher's, are in ``adapters/aws/README.md``).
"""

from __future__ import annotations

from typing import Literal

import msgspec

from adapters.kit.config import ProviderConfig, check_services
from adapters.kit.regions import Placement, declared
from omnisense.schema import Task

SERVICES = ("rekognition", "textract", "comprehend", "translate", "polly", "transcribe", "s3")


class AwsConfig(ProviderConfig, kw_only=True, forbid_unknown_fields=True):
    """``timeout_s`` (botocore read timeout), ``max_workers`` and ``prices`` come from ProviderConfig."""

    region: str | None = None
    profile: str | None = None
    # Explicit keys are for tests and odd setups; prefer the standard credential chain
    # (env, shared config, SSO, instance/task roles). A policy file should use ${ENV}.
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    endpoint_url: str | None = None
    endpoints: dict[str, str] = msgspec.field(default_factory=dict)
    connect_timeout_s: float = 3.0
    probe_timeout_s: float = 2.0
    max_attempts: int = 1
    # speech.transcribe: where the audio is uploaded and the transcript written.
    s3_bucket: str | None = None
    s3_prefix: str = "omnisense/transcribe/"
    transcribe_poll_s: float = 0.5  # first poll interval; grows x1.5 up to transcribe_poll_max_s
    transcribe_poll_max_s: float = 5.0
    # speech.synthesize
    polly_engine: Literal["standard", "neural"] = "neural"
    # Comprehend needs a language for sentiment/entities/key phrases; used when the request names none.
    default_language: str = "en"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_services(SERVICES, endpoints=self.endpoints)
        if self.connect_timeout_s <= 0 or self.probe_timeout_s <= 0:
            raise ValueError("timeouts must be positive")
        if not 1 <= self.max_attempts <= 10:
            raise ValueError("max_attempts must be between 1 and 10")
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError("access_key_id and secret_access_key go together")

    def endpoint_for(self, service: str) -> str | None:
        return self.endpoints.get(service, self.endpoint_url)

    def placement(self, task: Task | None = None) -> Placement:
        """Every service of this provider runs in ``region``; without one the SDK's default
        chain (AWS_REGION, the profile) picks it at run time: unknown here, so no jurisdiction.
        With ``endpoint_url``/``endpoints`` (a proxy, a fake) ``region`` is taken as where they are."""
        if self.region is None:
            return declared(None, cloud="aws", source="no `region:`: the AWS SDK's default chain decides at run time")
        return declared(self.region, cloud="aws", source="region")
