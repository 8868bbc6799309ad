"""The table contract: every task of the task table that the provider declares, from the row alone.

Where the per-task classes check what a task's answer means, this one checks what every
row promises, so a task added to the table is in the suite at once: a request made from
the row's request type answers the row's result type, names its model, survives JSON,
and gives the log record a summary. A task the provider does not declare is a visible skip.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from adapters.base import Provider
from contract_tests import samples
from contract_tests.abstract.base import ProviderContract, image_media
from omnisense.schema import TABLE, InputKind, Media, TaskRequest, TaskSpec, summarize_output

SPECS = list(TABLE.values())


def request_for(spec: TaskSpec[Any, Any]) -> TaskRequest:
    """The row's request type with a sample for each field it requires."""
    values: dict[str, Any] = {"text": samples.ENTITIES, "target_language": "es", "language": "en"}
    if spec.input is InputKind.IMAGE:
        values["image"] = image_media(samples.png())
    elif spec.input is InputKind.AUDIO:
        values["audio"] = Media(data=samples.wav(1.0), format="wav", duration_s=1.0)
    elif spec.input is InputKind.VIDEO:
        values["video"] = Media(data=samples.video(), format="mp4", duration_s=2.0, codec="h264")
    names = {f.name for f in spec.fields}
    request: TaskRequest = msgspec.convert({k: v for k, v in values.items() if k in names}, spec.request)
    return request


class TableContract(ProviderContract):
    @pytest.mark.parametrize("spec", SPECS, ids=[spec.task.value for spec in SPECS])
    async def test_row(self, provider: Provider, spec: TaskSpec[Any, Any]) -> None:
        out = await self.run(provider, request_for(spec), spec.task)
        assert isinstance(out.result, spec.result)
        summarize_output(spec.task, out.result)  # the log record's summary reads it

    def test_declares_prices_for_its_tasks(self, provider: Provider) -> None:
        if provider.info.kind != "local":
            missing = [t for t in provider.info.capabilities if t not in provider.info.prices]
            assert not missing, f"no price for {missing}"
