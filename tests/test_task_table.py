"""The task table is the one description of a task: walk it and check every surface has each task.

For every row: an OpenAPI path with the body and result derived from the row, a method on
both Python clients that calls the row's path and decodes the row's result type, an answer
from ``POST /v1/route/explain``, an output summary in the request's log record, and a route
of the local adapter. A task added to the table and missing from a surface fails here; so
does a row that leaves out a per-task column, and a column value nothing implements.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from adapters.local.codec import ENDPOINTS
from adapters.oip.config import OUTPUT_CHECKS, SUPPORTED
from contract_tests import samples
from gateway.agreement import MEASURES
from gateway.logs import MemorySink, RequestLog
from gateway.metrics import CLOSED_ANSWER_TASKS
from gateway.server.openapi import openapi_document
from omnisense.client import AsyncClient, Client
from omnisense.schema import (
    TABLE,
    Agreement,
    Consensus,
    Envelope,
    OutputShape,
    ShortForm,
    Task,
    TaskSpec,
    summarize_output,
)
from omnisense.schema.requests import MediaRef
from tests.conftest import POLICY, LiveServer, make_config

SPECS = list(TABLE.values())
IDS = [spec.task.value for spec in SPECS]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, MemorySink]]:
    path = tmp_path_factory.mktemp("table") / "policy.yaml"
    path.write_text(POLICY)
    sink = MemorySink()
    with LiveServer(make_config(Path(path)), sink) as live:
        yield live, sink


def arguments(spec: TaskSpec[Any, Any]) -> list[Any]:
    """Positional arguments for the row's client method: its request type's required fields."""
    values: dict[str, Any] = {"text": "Tim Cook is an idiot", "target_language": "es"}
    if spec.media_field is not None:
        media = {"image": samples.png, "audio": lambda: samples.wav(0.5), "video": samples.video}
        values[spec.media_field] = media[spec.media_field]()
    return [values[f.name] for f in msgspec.structs.fields(spec.request) if f.required]


def record_of(sink: MemorySink, request_id: str) -> RequestLog:
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        found = [r for r in sink.records if r.request_id == request_id]
        if found:
            return found[0]
        time.sleep(0.01)
    raise AssertionError(f"no log record for {request_id}")


def test_every_task_has_a_row() -> None:
    assert set(TABLE) == set(Task)
    assert len({spec.path for spec in SPECS}) == len(SPECS)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_openapi_path(spec: TaskSpec[Any, Any]) -> None:
    doc = openapi_document()
    op = doc["paths"][spec.path]["post"]
    body = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body == f"#/components/schemas/{spec.body.__name__}"
    assert spec.body.__name__ in doc["components"]["schemas"]
    schema = op["responses"]["200"]["content"]["application/json"]["schema"]
    answer = schema["anyOf"][0]["$ref"]  # the envelope; or, with ?dry_run=true, the quote
    assert answer.endswith(f"Envelope_{spec.result.__name__}_") and "dry_run" in schema["anyOf"][1]["properties"]
    assert ("multipart/form-data" in op["requestBody"]["content"]) == (spec.media_field is not None)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_sync_client_method_and_log_summary(spec: TaskSpec[Any, Any], server: tuple[LiveServer, MemorySink]) -> None:
    live, sink = server
    seen: list[str] = []
    http = httpx.Client(base_url=live.url, event_hooks={"request": [lambda r: seen.append(r.url.path)]})
    omni = Client(http=http)
    method = getattr(getattr(omni, spec.task.modality), spec.method)
    answer = method(*arguments(spec))
    assert seen == [spec.path]
    request_id = _request_id(answer, sink, spec)
    record = record_of(sink, request_id)
    assert record.task == spec.task.value and record.status == "ok" and record.unit == spec.unit.value
    assert record.output is not None and record.output != type(record.output)(), "an empty output summary"
    if isinstance(answer, Envelope):
        assert isinstance(answer.result, spec.result)
        assert record.output == summarize_output(spec.task, answer.result)
    else:
        assert spec.answers_audio and isinstance(answer, bytes) and record.output.items == len(answer)


def _request_id(answer: Any, sink: MemorySink, spec: TaskSpec[Any, Any]) -> str:
    if isinstance(answer, Envelope):
        return answer.request_id
    time.sleep(0.1)
    return [r for r in sink.records if r.task == spec.task.value][-1].request_id


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
async def test_async_client_method(spec: TaskSpec[Any, Any], server: tuple[LiveServer, MemorySink]) -> None:
    live, _ = server
    async with AsyncClient(live.url) as omni:
        answer = await getattr(getattr(omni, spec.task.modality), spec.method)(*arguments(spec))
    if spec.answers_audio:
        assert isinstance(answer, bytes) and answer
    else:
        assert isinstance(answer, Envelope) and isinstance(answer.result, spec.result)
        assert answer.task == spec.task.value


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_route_explain(spec: TaskSpec[Any, Any], server: tuple[LiveServer, MemorySink]) -> None:
    live, _ = server
    body = {"task": spec.task.value, "characters": 40, "bytes": 2048, "audio_seconds": 2.0, "target_language": "es"}
    r = httpx.post(f"{live.url}/v1/route/explain", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["answer"] == "served by primary"


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_local_adapter_route(spec: TaskSpec[Any, Any]) -> None:
    assert ENDPOINTS[spec.task] == "/" + spec.task.value.replace(".", "/")


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_json_body_is_derived_from_the_request_type(spec: TaskSpec[Any, Any]) -> None:
    request_fields = {f.name: f for f in msgspec.structs.fields(spec.request)}
    body_fields = {f.name: f for f in msgspec.structs.fields(spec.body)}
    assert body_fields.keys() == request_fields.keys()
    for name, field in body_fields.items():
        assert field.required == request_fields[name].required and field.default == request_fields[name].default
        assert (isinstance(field.type, type) and issubclass(field.type, MediaRef)) == (name == spec.media_field)
    with pytest.raises(msgspec.ValidationError, match="unknown field"):
        msgspec.json.decode(b'{"text": "x", "image": {}, "audio": {}, "nope": 1}', type=spec.body)


# -- the per-task rules are columns of the row -------------------------------------------------------------------------

COLUMNS = {
    "answers_audio": bool,
    "output": OutputShape,
    "closed_answer": bool,
    "agreement": Agreement,
    "short_form": (ShortForm, type(None)),
    "consensus": Consensus,
}


def test_every_column_is_named_in_every_row() -> None:
    fields = {f.name: f for f in dataclasses.fields(TaskSpec)}
    assert COLUMNS.keys() <= fields.keys()
    for name, field in fields.items():  # a row that leaves a column out does not build
        assert field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING, name
    with pytest.raises(TypeError, match="consensus"):
        TaskSpec(**{k: getattr(TABLE[Task.TEXT_SENTIMENT], k) for k in fields if k != "consensus"})


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_each_column_holds_its_kind_of_value(spec: TaskSpec[Any, Any]) -> None:
    for name, kind in COLUMNS.items():
        assert isinstance(getattr(spec, name), kind), (spec.task, name)
    # a task that is compared can be evaluated (its short form builds its result), and one that is not, cannot
    assert (spec.short_form is None) == (spec.agreement is Agreement.NONE)


def test_every_value_of_a_column_has_its_implementation() -> None:
    assert set(MEASURES) == set(Agreement)  # gateway.agreement: one entry per measure
    assert set(OUTPUT_CHECKS) == set(OutputShape)  # the OIP adapter: a mapping, or None for "not yet"
    assert MEASURES[Agreement.NONE] is None and all(MEASURES[a] for a in Agreement if a is not Agreement.NONE)


def test_closed_answers_come_from_the_rows() -> None:
    assert {t for t, s in TABLE.items() if s.closed_answer} == {
        Task.TEXT_SENTIMENT, Task.TEXT_LANGUAGE, Task.VISION_MODERATION, Task.TEXT_MODERATION, Task.VIDEO_MODERATION
    }  # fmt: skip
    assert {t.value for t, s in TABLE.items() if s.closed_answer} == CLOSED_ANSWER_TASKS


def test_oip_takes_the_tasks_whose_output_shape_it_maps() -> None:
    assert {t for t in TABLE if t in SUPPORTED} == {t for t, s in TABLE.items() if OUTPUT_CHECKS[s.output]}
    assert Task.TEXT_ENTITIES not in SUPPORTED and Task.SPEECH_SYNTHESIZE not in SUPPORTED
