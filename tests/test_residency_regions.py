"""Where each provider block processes data: its region and jurisdiction, from its configuration."""

from __future__ import annotations

import msgspec
import pytest

from adapters.aws.config import AwsConfig
from adapters.azure.config import AzureConfig
from adapters.google.config import GoogleConfig
from adapters.google.vertex_config import VertexConfig
from adapters.kit.regions import CLOUDS, ResidencyError, requirement, table
from adapters.local.config import LocalConfig
from adapters.oip.config import OipConfig
from omnisense.schema import Task

EU = frozenset({"eu"})


@pytest.mark.parametrize(
    ("region", "jurisdiction"),
    [
        ("eu-central-1", "eu"),
        ("eu-west-1", "eu"),
        ("eu-west-2", "uk"),  # London: an eu- name outside the EU
        ("eu-central-2", "ch"),  # Zurich
        ("us-east-1", "us"),
        ("ap-northeast-1", "jp"),
        ("ca-central-1", "ca"),
    ],
)
def test_aws_region_names_their_jurisdiction(region: str, jurisdiction: str) -> None:
    assert AwsConfig(region=region).placement(Task.TEXT_SENTIMENT).jurisdiction == jurisdiction


def test_aws_without_a_region_satisfies_no_requirement() -> None:
    where = AwsConfig().placement()
    assert where.region == "undeclared" and not where.within(EU)
    assert "default chain" in where.source


def test_google_global_endpoints_are_not_eu() -> None:
    where = GoogleConfig().placement(Task.VISION_LABELS)
    assert where.region == "global" and where.jurisdiction is None and not where.within(EU)
    assert "vision.googleapis.com" in where.source
    assert str(where) == "global (any location)"


def test_google_regional_endpoints_name_their_location() -> None:
    config = GoogleConfig(
        endpoints={
            "vision": "https://eu-vision.googleapis.com",
            "speech": "eu-speech.googleapis.com",  # no scheme: https
            "translate": "https://translate-eu.googleapis.com",
            "texttospeech": "https://texttospeech.europe-west4.rep.googleapis.com",
            "language": "https://us-language.googleapis.com",
        }
    )
    for task in (Task.VISION_OCR, Task.SPEECH_TRANSCRIBE, Task.TEXT_TRANSLATE):
        assert config.placement(task).within(EU), task
    assert config.placement(Task.SPEECH_SYNTHESIZE).region == "europe-west4"
    assert config.placement(Task.TEXT_SENTIMENT).jurisdiction == "us"
    whole = config.placement()  # the provider as a whole: not one jurisdiction
    assert whole.jurisdiction is None and "us" in whole.region


def test_google_europe_west2_is_london_not_the_eu() -> None:
    assert GoogleConfig(endpoint="https://europe-west2-vision.googleapis.com").placement(Task.VISION_LABELS).region == (
        "europe-west2"
    )
    assert not GoogleConfig(endpoint="https://europe-west2-vision.googleapis.com").placement().within(EU)


def test_a_non_google_endpoint_is_where_region_says() -> None:
    assert GoogleConfig(endpoint="http://127.0.0.1:9999").placement().region == "undeclared"
    assert GoogleConfig(endpoint="http://127.0.0.1:9999", region="eu").placement().within(EU)


def test_vertex_location_is_its_region() -> None:
    def vertex(**kw: object) -> VertexConfig:
        return VertexConfig(
            project="p",
            endpoint_id="1",
            task=Task.VISION_LABELS,
            schema="image_classification",
            **kw,  # type: ignore[arg-type]
        )

    assert vertex(location="europe-west4").placement().region == "europe-west4"
    assert vertex(location="europe-west4").placement(Task.VISION_LABELS).within(EU)
    assert vertex(location="us-central1").placement().jurisdiction == "us"
    assert vertex(endpoints={"aiplatform": "http://127.0.0.1:1"}).placement().region == "undeclared"


def test_azure_region_from_endpoint_host_and_services() -> None:
    config = AzureConfig(endpoint="https://westeurope.api.cognitive.microsoft.com", key="k", region="westeurope")
    assert config.placement(Task.TEXT_SENTIMENT).region == "westeurope"
    assert config.placement(Task.SPEECH_TRANSCRIBE).within(EU)  # westeurope.stt.speech.microsoft.com
    translate = config.placement(Task.TEXT_TRANSLATE)  # Translator's global endpoint
    assert translate.region == "global" and not translate.within(EU)
    assert not config.placement().within(EU)  # the provider as a whole includes the global Translator
    eur = AzureConfig(
        endpoint="https://westeurope.api.cognitive.microsoft.com",
        key="k",
        region="westeurope",
        endpoints={"translator": "https://api-eur.cognitive.microsofttranslator.com"},
    )
    assert eur.placement(Task.TEXT_TRANSLATE).within(EU) and eur.placement().within(EU)


def test_azure_custom_endpoints_need_an_explicit_region() -> None:
    custom = AzureConfig(endpoint="https://my-resource.cognitiveservices.azure.com", key="k")
    assert custom.placement(Task.TEXT_SENTIMENT).region == "undeclared"
    declared = AzureConfig(endpoint="https://my-resource.cognitiveservices.azure.com", key="k", region="uksouth")
    assert declared.placement(Task.TEXT_SENTIMENT).jurisdiction == "uk"


def test_local_default_is_the_gateway_host_with_no_jurisdiction() -> None:
    where = LocalConfig().placement()
    assert where.region == "gateway-host" and where.jurisdiction is None
    assert LocalConfig(region="eu").placement().within(EU)
    assert LocalConfig(region="eu-central-1").placement().within(EU)  # a cloud region names where it runs
    assert LocalConfig(region="fra-dc-7").placement().jurisdiction is None  # not in the table


def test_oip_takes_an_explicit_region() -> None:
    def built(**kw: object) -> OipConfig:
        block = {
            "url": "http://127.0.0.1:8081", "model": "m", "task": "text.sentiment",
            "inputs": [{"name": "text", "from": "text"}], "outputs": {"label": "predict"}, **kw,
        }  # fmt: skip
        return msgspec.convert(block, OipConfig)

    assert built().placement().region == "undeclared"
    assert built(region="ch").placement().jurisdiction == "ch"


def test_requirements_expand_groups_and_name_unknown_codes() -> None:
    assert requirement("eu") == EU
    assert requirement("eu, ch") == {"eu", "ch"}
    assert requirement(["eea"]) == {"eu", "no"}
    with pytest.raises(ResidencyError, match="'europe'"):
        requirement("europe")


def test_every_table_entry_names_a_known_jurisdiction() -> None:
    t = table()
    for cloud in CLOUDS:
        assert t.cloud(cloud), cloud
        unknown = {r: j for r, j in t.cloud(cloud).items() if j not in t.jurisdictions}
        assert not unknown, (cloud, unknown)
    for members in t.groups.values():
        assert set(members) <= set(t.jurisdictions)
