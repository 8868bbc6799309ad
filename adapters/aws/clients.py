"""boto3 clients built once per provider (``adapters.kit.SdkClients``), and ``call``.

boto3 is imported here, lazily, when the first client is built: importing
``adapters.registry`` or even ``adapters.aws.provider`` does not import it. Each call runs
in the provider's bounded pool, bounded by the request's deadline on top of botocore's own
read timeout, with its exceptions mapped by ``errors.classify``.
"""

from __future__ import annotations

import threading
from typing import Any

from adapters.aws.config import AwsConfig
from adapters.aws.errors import classify
from adapters.base import CallContext
from adapters.kit import SdkClients


class AwsClients(SdkClients[AwsConfig]):
    """One boto3 session and one client per service (``"polly:probe"``: a twin with the
    probe's short timeouts and no retries)."""

    classify = classify
    _session: Any = None
    _session_lock = threading.Lock()

    def session(self) -> Any:
        """The provider's boto3 session (its credentials and region), made on first use."""
        import boto3

        with self._session_lock:
            if self._session is None:
                cfg = self.config
                self._session = boto3.session.Session(
                    aws_access_key_id=cfg.access_key_id,
                    aws_secret_access_key=cfg.secret_access_key,
                    aws_session_token=cfg.session_token,
                    region_name=cfg.region,
                    profile_name=cfg.profile,
                )
            return self._session

    def build(self, key: str) -> Any:
        from botocore.config import Config

        service, _, probe = key.partition(":")
        cfg = self.config
        read = cfg.probe_timeout_s if probe else cfg.timeout_s
        botocfg = Config(
            connect_timeout=min(cfg.connect_timeout_s, read),
            read_timeout=read,
            # Deliberate: 1 attempt by default (no SDK retries); the gateway's dispatcher retries.
            retries={"mode": "standard", "total_max_attempts": 1 if probe else cfg.max_attempts},
            max_pool_connections=cfg.max_workers,
            user_agent_extra="omnisense",
        )
        endpoint = cfg.endpoint_for(service)
        return self.session().client(service, endpoint_url=endpoint, config=botocfg, verify=cfg.ca_bundle)

    async def call(
        self, service: str, operation: str, params: dict[str, Any], ctx: CallContext | None
    ) -> dict[str, Any]:
        """``client(service).<operation>(**params)``, minus ``ResponseMetadata``."""

        def invoke() -> dict[str, Any]:
            response: dict[str, Any] = getattr(self.client(service), operation)(**params)
            response.pop("ResponseMetadata", None)
            return response

        return await self.run(invoke, ctx=ctx)
