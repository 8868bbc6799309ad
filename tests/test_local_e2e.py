"""The gateway on the local models, end to end over HTTP with the Python client: what a
newcomer gets from the README's run command (the real model server behind it)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image, ImageDraw

from contract_tests import samples
from gateway.logs import MemorySink
from gateway.server import GatewayConfig
from gateway.server.config import LogSettings
from omnisense.client import Client
from omnisense.schema import UnprocessableInput
from tests.conftest import LiveServer


@pytest.fixture(scope="module")
def gateway(model_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    preset = Path(__file__).resolve().parent.parent / "policies" / "presets" / "local.yaml"
    policy = tmp_path_factory.mktemp("local") / "policy.yaml"
    policy.write_text(preset.read_text().replace("{kind: local,", f"{{kind: local, url: '{model_server_url}',"))
    config = GatewayConfig(policy=str(policy), logs=LogSettings(sink="none"))
    with LiveServer(config, MemorySink()) as server:
        yield server


def face_and_text() -> bytes:
    img = Image.new("RGB", (640, 200), "white")
    ImageDraw.Draw(img).text((30, 70), "OMNISENSE WORKS", fill="black", font_size=48)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def test_every_local_task_through_the_gateway(gateway: LiveServer) -> None:
    with Client(gateway.url, timeout=180) as omni:
        labels = omni.vision.labels(samples.jpeg(224, 224), max_results=3)
        assert labels.provider == "local" and 1 <= len(labels.result.labels) <= 3
        assert omni.vision.faces(samples.jpeg()).result.faces == []
        assert "OMNISENSE" in omni.vision.ocr(face_and_text()).result.text.upper()
        assert omni.text.sentiment(samples.POSITIVE).result.label == "positive"
        complaint = omni.text.sentiment("The service was slow and the food was cold.")
        assert complaint.result.label == "negative"
        flags = omni.vision.moderation(samples.jpeg(224, 224)).result.flags
        assert [f.category for f in flags] == ["sexual"] and flags[0].confidence < 0.5
        pivot = omni.text.translate("Le chat dort sur la table.", "en", source_language="fr")
        assert "cat" in pivot.result.text.lower() and pivot.model == "apertium fr-es+spa-eng (pivot via es)"
        types = {e.type for e in omni.text.entities(samples.ENTITIES).result.entities}
        assert {"PERSON", "ORGANIZATION", "LOCATION"} <= types
        assert omni.text.language(samples.SENTENCES["fr"]).result.languages[0].code == "fr"
        spanish = omni.text.translate(samples.SENTENCES["en"], "es", source_language="en")
        assert spanish.result.text != samples.SENTENCES["en"] and spanish.result.target_language == "es"
        audio = omni.speech.synthesize("Hello from the gateway")
        assert audio[:4] == b"RIFF"
        heard = omni.speech.transcribe(audio)
        assert "gateway" in heard.result.text.lower() and heard.usage.unit == "second" and heard.usage.units > 0.5


def test_an_unsupported_pair_is_422_naming_the_installed_pairs(gateway: LiveServer) -> None:
    """Both languages are served (Basque only into English), the pair is not: the gateway's
    capability filter reads the pairs (direct and pivot) from /capabilities and refuses it
    before any call, naming what the source language does translate into. (The model
    server itself answers 400 unsupported listing every pair: local_models/tests.)"""
    with Client(gateway.url) as omni, pytest.raises(UnprocessableInput) as info:
        omni.text.translate("Good morning", "eu", source_language="en")
    assert info.value.status == 422
    assert "local: does not translate en -> eu (from en only into ca, " in info.value.detail
    assert " es, fr, gl, it, pt, " in info.value.detail


def astronaut() -> bytes:
    """scikit-image's astronaut, from the model server's venv (its test images ship in the package)."""
    venv = Path(__file__).resolve().parent.parent / "local_models" / ".venv" / "lib"
    return next(venv.glob("python3*/site-packages/skimage/data/astronaut.png")).read_bytes()


def test_objects_are_the_declared_classes_and_others_are_refused(gateway: LiveServer) -> None:
    """vision.objects on the default finds what ships (faces and persons), declared as the
    provider's classes; a request for another class is refused before any call (422 naming
    the classes), never a 503."""
    with Client(gateway.url) as omni:
        providers = httpx.get(f"{gateway.url}/v1/providers").json()["providers"]
        local = next(p for p in providers if p["name"] == "local")
        assert sorted(local["tasks"]["vision.objects"]["classes"]) == ["face", "person"]
        found = omni.vision.objects(astronaut()).result.objects
        faces = [o for o in found if o.name == "face"]
        assert len(faces) == 1 and faces[0].confidence is not None and faces[0].confidence > 0.8
        only = omni.vision.objects(astronaut(), classes=["Face"]).result.objects
        assert [o.name for o in only] == ["face"]
        with pytest.raises(UnprocessableInput) as info:
            omni.vision.objects(astronaut(), classes=["face", "car"])
    assert info.value.status == 422 and info.value.field == "classes"
    assert "local: does not detect car for vision.objects (its classes: face, person)" in info.value.detail
