"""A client generated from the served OpenAPI document (openapi-python-client) calls every endpoint.

The generator must finish without a warning about our document. The generated package is
imported from a temporary directory and used against the gateway over real HTTP: every
task (raw bytes, JSON and multipart bodies), synthesize answering JSON or audio by Accept,
and every operational endpoint including /metrics.
"""

from __future__ import annotations

import base64
import importlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from contract_tests import samples
from gateway.logs import MemorySink
from gateway.server.config import ApiKey, hash_key
from gateway.server.openapi import openapi_document
from tests.conftest import LiveServer, make_config
from tests.routing_helpers import wait_for

PACKAGE = "omnisense_generated"
GENERATOR = Path(sys.executable).with_name("openapi-python-client")
KEY = "generated-client-key"
ARGS = ("--output-path", PACKAGE, "--config", "config.yaml")
# No formatter run (nothing outside the venv). The generator reads JSON and octet-stream only: the
# text and audio types the document declares are read and sent as bytes.
RAW_TYPES = ("text/plain", "text/vtt", "audio/mpeg", "audio/ogg", "audio/flac", "audio/wav", "audio/pcm", "audio/L16")
CONFIG = "post_hooks: []\ncontent_type_overrides:\n" + "".join(f"  {t}: application/octet-stream\n" for t in RAW_TYPES)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    if not GENERATOR.exists():
        pytest.fail(f"{GENERATOR} is missing: install the dev extra (pip install -e '.[dev]')")
    work = tmp_path_factory.mktemp("generated")
    (work / "openapi.json").write_text(json.dumps(openapi_document()))
    (work / "config.yaml").write_text(CONFIG)
    done = subprocess.run(
        [str(GENERATOR), "generate", *("--path", "openapi.json", "--meta", "none"), *ARGS],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "warning" not in output.lower(), output
    sys.path.insert(0, str(work))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(work))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture
def gateway(policy_file: Path, sink: MemorySink) -> Iterator[LiveServer]:
    keys = [ApiKey(id="ops", sha256=hash_key(KEY), admin=True)]
    with LiveServer(make_config(policy_file, keys=keys), sink) as server:
        yield server


def api(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.api.{name}")


def models() -> Any:
    return importlib.import_module(f"{PACKAGE}.models")


def test_the_generated_client_calls_every_endpoint(
    generated: ModuleType, gateway: LiveServer, sink: MemorySink
) -> None:
    m, types = models(), importlib.import_module(f"{PACKAGE}.types")
    client = generated.AuthenticatedClient(base_url=gateway.url, token=KEY, raise_on_unexpected_status=True)
    png = samples.png()
    image = types.File(payload=png, file_name="photo.png", mime_type="image/png")

    raw = api("vision.vision_labels").sync(client=client, body=image, max_results=3)
    assert isinstance(raw, m.EnvelopeLabelsResult) and raw.result.labels[0].name == "primary"
    as_json = m.ImageBody(image=m.MediaRefType0(base64=base64.b64encode(png).decode()), max_results=2)
    for name in ("vision_objects", "vision_faces", "vision_ocr", "vision_moderation"):
        answer = api(f"vision.{name}").sync(client=client, body=as_json)
        assert answer.provider == "primary", (name, answer)
    form = m.VisionLabelsFilesBody(image=image, max_results=2)
    assert api("vision.vision_labels").sync(client=client, body=form).result.labels

    text = m.TextBody(text="What a lovely day")
    for name in ("text_sentiment", "text_entities", "text_key_phrases", "text_language"):
        answer = api(f"text.{name}").sync(client=client, body=text)
        assert answer.task == name.replace("_", ".", 1).replace("key.phrases", "key_phrases"), answer
    translated = api("text.text_translate").sync(client=client, body=m.TranslateBody(text="Hi", target_language="es"))
    assert translated.result.target_language == "es"

    heard = api("speech.speech_transcribe").sync(client=client, body=types.File(payload=samples.wav(0.5)))
    assert heard.usage.unit == "second" and heard.usage.units == pytest.approx(0.5)
    synthesize = api("speech.speech_synthesize")
    as_json = m.SpeechSynthesizeAccept.APPLICATIONJSON  # the declared Accept header
    envelope = synthesize.sync(client=client, body=m.SynthesizeBody(text="Hi"), accept=as_json)
    assert isinstance(envelope, m.EnvelopeSynthesizeResult) and envelope.result.format_ == "wav"
    # Audio by Accept: the generator parses one answer type per status (JSON), so the audio is read with
    # the generated client's own HTTP client and the generated request.
    kwargs = synthesize._get_kwargs(body=m.SynthesizeBody(text="Hi"), accept=m.SpeechSynthesizeAccept.AUDIO)
    audio = client.get_httpx_client().request(**kwargs)
    assert audio.headers["content-type"] == "audio/wav" and audio.content.startswith(b"RIFF")
    # text/plain: the raw text, the options in the query string
    plain = api("text.text_sentiment").sync(client=client, body=types.File(payload=b"Lovely"), language="en")
    assert isinstance(plain, m.EnvelopeSentimentResult) and plain.task == "text.sentiment"

    ops = "operations"
    assert api(f"{ops}.healthz").sync(client=client).status == "ok"
    assert api(f"{ops}.readyz").sync(client=client) is not None
    assert api(f"{ops}.providers").sync(client=client) is not None
    assert api(f"{ops}.policy").sync(client=client) is not None
    assert api(f"{ops}.policy_reload").sync(client=client) is not None
    plan = api(f"{ops}.route_explain").sync(client=client, body=m.ExplainBody(task=m.Task.TEXT_SENTIMENT, text="hi"))
    assert plan.additional_properties["answer"] == "served by primary"
    wait_for(lambda: len(sink.records) >= 13)
    page = api(f"{ops}.logs").sync(client=client, task="text.sentiment", limit=5)
    assert isinstance(page, m.LogPage) and page.records and page.records[0].task == "text.sentiment"
    assert isinstance(api(f"{ops}.stats").sync(client=client, window="1h"), m.Stats)
    metrics = api(f"{ops}.metrics").sync(client=client)
    assert isinstance(metrics, bytes) and b"omnisense_requests_total" in metrics  # text/plain read as bytes

    jobs = "jobs"
    body = m.SubmitJobBody.from_dict({"task": "text.sentiment", "input": {"text": "Lovely"}})
    job = api(f"{jobs}.submit_job").sync(client=client, body=body)
    assert isinstance(job, m.JobView) and job.status == "queued"
    wait_for(lambda: api(f"{jobs}.get_job").sync(client=client, job_id=job.id).status == "succeeded")
    assert api(f"{jobs}.get_job").sync(client=client, job_id=job.id).done == 1
    listed = api(f"{jobs}.list_jobs").sync(client=client, status=m.ListJobsStatus.SUCCEEDED)
    assert job.id in [j.id for j in listed.jobs]
    upload = api(f"{jobs}.submit_job").sync_detailed(client=client, body=image, task=m.SubmitJobTask.VISION_LABELS)
    assert upload.status_code == 202 and isinstance(upload.parsed, m.JobView)  # a raw body with ?task=
    assert upload.headers["location"] == f"/v1/jobs/{upload.parsed.id}"  # the declared Location header
    gone = api(f"{jobs}.cancel_job").sync(client=client, job_id=job.id)
    assert isinstance(gone, m.Problem) and gone.status == 422  # already succeeded

    openai_dialect(client, m, types)

    problem = api("text.text_sentiment").sync(client=client, body=m.TextBody(text="hi", language="xx-nope-nope"))
    assert isinstance(problem, m.Problem) and problem.status == 422 and problem.field == "language"


def openai_dialect(client: Any, m: Any, types: Any) -> None:
    """The OpenAI dialect's operations, as the document declares them."""
    ops = "openai"
    listed = api(f"{ops}.openai_list_models").sync(client=client)
    assert {d["id"] for d in listed.additional_properties["data"]} >= {"omnisense", "primary"}
    wav = types.File(payload=samples.wav(0.5), file_name="a.wav")
    as_json = m.OpenaiTranscriptionBodyResponseFormat.JSON
    form = m.OpenaiTranscriptionBody(file=wav, model="primary", response_format=as_json)
    assert isinstance(api(f"{ops}.openai_transcription").sync(client=client, body=form), m.OpenAITranscription)
    wav = types.File(payload=samples.wav(0.5), file_name="a.wav")
    form = m.OpenaiTranslationBody(file=wav, language="en")
    assert isinstance(api(f"{ops}.openai_translation").sync(client=client, body=form), m.OpenAITranscription)
    speech = m.OpenaiSpeechBody(model="tts-1", input_="Hi", response_format=m.OpenaiSpeechBodyResponseFormat.WAV)
    audio = api(f"{ops}.openai_speech").sync(client=client, body=speech)
    assert isinstance(audio, types.File) and audio.payload.read(4) == b"RIFF"
    moderated = api(f"{ops}.openai_moderation").sync(client=client, body=m.OpenaiModerationBody(input_=["a", "b"]))
    assert len(moderated.results) == 2
    unknown = api(f"{ops}.openai_moderation").sync(client=client, body=m.OpenaiModerationBody(input_="a", model="x"))
    assert isinstance(unknown, m.OpenAIError) and unknown.error.code == "model_not_found"
