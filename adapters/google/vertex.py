"""The ``vertex`` provider: a deployed Vertex AI endpoint serving one task.

It calls the endpoint through google-cloud-aiplatform's ``PredictionServiceClient`` (the
``vertex`` extra, imported on the first call: only this kind loads it), over its REST
transport, ``POST {base}/v1/projects/{project}/locations/{location}/endpoints/{id}:predict``
with ``{"instances": [...], "parameters": {...}}`` -> ``{"predictions": [...], "deployedModelId"}``.
The clients are the ``google`` kind's (``ServiceClients``): credentials from ADC or a
service-account file (none for ``credentials: anonymous``), the bounded pool, ``retry=None``
(retries are the dispatcher's), a timeout of ``timeout_s`` capped by the request's deadline,
and the errors mapped as for every Google API. The base URL is
``https://{location}-aiplatform.googleapis.com`` unless ``endpoint``/``endpoints.aiplatform``
says otherwise.

The mapping between the task and the model's instances/predictions is in
``vertex_schemas``. ``probe()`` reads the endpoint's description (``EndpointService.GetEndpoint``),
which costs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from adapters.base import CallContext, ProviderResult
from adapters.google import vertex_schemas
from adapters.google.clients import VertexClients
from adapters.google.config import SCHEMA_TASKS, VertexConfig
from adapters.kit import Serve, VendorProvider, parsed, timed_probe
from adapters.kit.config import ProviderConfig
from omnisense.schema import Health, Price, Task, TaskRequest, TaskSupport, unit_of

IMAGE_FORMATS = frozenset({"jpeg", "png", "gif", "bmp", "webp"})
MAX_BYTES = 1_500_000  # an online prediction request is at most 1.5 MB


async def predict(google: VertexClients, task: Task, request: TaskRequest, ctx: CallContext) -> ProviderResult:
    """One ``:predict`` call: the schema's instance in, the task's result from the first prediction."""
    from google.protobuf.json_format import MessageToDict, ParseDict

    config = google.config
    body = {"endpoint": endpoint_name(config), **vertex_schemas.to_vendor(config, request)}
    pb = ParseDict(body, _request_type()())
    answer = MessageToDict(await google.call("prediction", "predict", pb, ctx))
    result = parsed(google.name, lambda: vertex_schemas.from_vendor(config, answer, request))
    return ProviderResult(result=result, model=config.model_name, raw=answer if request.include_raw else None)


def _request_type() -> Any:
    from google.cloud.aiplatform_v1 import PredictRequest

    return PredictRequest.pb()


def endpoint_name(config: VertexConfig) -> str:
    return f"projects/{config.project}/locations/{config.location}/endpoints/{config.endpoint_id}"


class VertexProvider(VendorProvider[VertexConfig]):
    """One Vertex AI endpoint as a provider of one task."""

    kind: ClassVar[str] = "vertex"
    config_type: ClassVar[type[ProviderConfig]] = VertexConfig
    serves: ClassVar[Mapping[Task, Serve]] = {task: predict for tasks in SCHEMA_TASKS.values() for task in tasks}

    def __init__(self, name: str, config: VertexConfig, clients: VertexClients | None = None) -> None:
        super().__init__(name, config)
        self.google = self.clients = clients or VertexClients(name, config)
        task = config.task
        formats = IMAGE_FORMATS if task.modality == "vision" else None
        support = TaskSupport(model=config.model_name, formats=formats, max_bytes=MAX_BYTES * 3 // 4)
        self.declare({task: support}, lambda: {task: Price(usd=config.price_usd, per=1, unit=unit_of(task))})

    async def probe(self) -> Health:
        """``GetEndpoint`` (free): the endpoint's description and its deployed models."""

        async def check() -> str:
            name = {"name": endpoint_name(self.config)}
            answer = await self.google.call("endpoints", "get_endpoint", name, None, probe=True)
            return f"vertex endpoint: {len(answer.deployed_models)} deployed model(s)"

        return await timed_probe(check)
