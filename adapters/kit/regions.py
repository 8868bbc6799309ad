"""Where a provider processes a request: its region, and the jurisdiction that region is in.

Every provider block has a ``Placement`` per task, derived from its configuration by its
config class (``ProviderConfig.placement``): the AWS region, the Google location in the
endpoint's host (``eu-vision.googleapis.com``, ``europe-west4-aiplatform.googleapis.com``),
the Azure region in the endpoint's host or ``region:``, and the declared ``region:`` of a
local, OIP or third-party provider. ``regions.yaml`` (next to this module) maps each cloud's
region names to jurisdictions (``eu``, ``us``, ``uk``, ...).

A placement without a jurisdiction -- an undeclared region, a region missing from the table,
or a *global* endpoint, where the vendor picks the location per request -- satisfies no
residency requirement. ``docs/data-protection.md`` says what this guarantees and what not.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import Any

import msgspec
import yaml

GLOBAL = "global"  # a vendor's global endpoint: any of its locations, chosen per request
UNDECLARED = "undeclared"


class Placement(msgspec.Struct, frozen=True, kw_only=True):
    region: str  # "eu-west-1", "europe-west4", "westeurope", "eu", "global", "undeclared" ...
    jurisdiction: str | None  # None: unknown or global -- satisfies no residency requirement
    source: str = ""  # how it was found: "region", "endpoint eu-vision.googleapis.com", ...

    def __str__(self) -> str:
        where = self.jurisdiction or ("any location" if self.region == GLOBAL else "no known jurisdiction")
        return f"{self.region} ({where})"

    def within(self, allowed: frozenset[str]) -> bool:
        return self.jurisdiction is not None and self.jurisdiction in allowed


class RegionTable(msgspec.Struct, frozen=True, kw_only=True):
    jurisdictions: dict[str, str]
    groups: dict[str, list[str]]
    aws: dict[str, str]
    google: dict[str, str]
    azure: dict[str, str]

    def cloud(self, name: str) -> Mapping[str, str]:
        tables: dict[str, dict[str, str]] = {"aws": self.aws, "google": self.google, "azure": self.azure}
        return tables[name]


CLOUDS = ("aws", "google", "azure")


@functools.cache
def table() -> RegionTable:
    """The shipped region table (``adapters/kit/regions.yaml``)."""
    text = (resources.files("adapters.kit") / "regions.yaml").read_text()
    data: Any = yaml.safe_load(text)
    return msgspec.convert(data, RegionTable)


def jurisdiction_of(cloud: str, region: str) -> str | None:
    """The jurisdiction of ``cloud``'s region ``region`` (None: not in the table)."""
    return table().cloud(cloud).get(region.strip().lower())


def declared(region: str | None, *, cloud: str | None, source: str) -> Placement:
    """A placement from a declared ``region:`` value.

    The value is a jurisdiction code (``eu``), a region of ``cloud``'s table, or -- for a
    provider that is no cloud's (``cloud`` None) -- a region of any cloud's table
    (``eu-west-1``: where a model server in that AWS region runs). Anything else has no
    jurisdiction."""
    if region is None or not region.strip():
        return Placement(region=UNDECLARED, jurisdiction=None, source=source)
    name = region.strip().lower()
    t = table()
    if cloud is not None and name in t.cloud(cloud):
        return Placement(region=name, jurisdiction=t.cloud(cloud)[name], source=source)
    if name in t.jurisdictions:
        return Placement(region=name, jurisdiction=name, source=source)
    if cloud is None:
        for other in CLOUDS:
            if name in t.cloud(other):
                return Placement(region=name, jurisdiction=t.cloud(other)[name], source=source)
    return Placement(region=name, jurisdiction=None, source=f"{source}; not in the region table")


def combined(placements: Iterable[Placement]) -> Placement:
    """One placement for several services: their jurisdiction only when all share it."""
    items = list(placements)
    if not items:
        return Placement(region=UNDECLARED, jurisdiction=None, source="no service configured")
    if len(items) == 1:
        return items[0]
    regions = sorted({p.region for p in items})
    jurisdictions = {p.jurisdiction for p in items}
    one = next(iter(jurisdictions)) if len(jurisdictions) == 1 else None
    region = regions[0] if len(regions) == 1 else "+".join(regions)
    return Placement(region=region, jurisdiction=one, source="; ".join(sorted({p.source for p in items})))


class ResidencyError(ValueError):
    pass


def requirement(value: str | Iterable[str]) -> frozenset[str]:
    """The jurisdictions a requirement allows: ``"eu"``, ``"eu, ch"`` or ``["eu", "eea"]``,
    groups expanded. ``ResidencyError`` names an unknown code."""
    names = value.split(",") if isinstance(value, str) else list(value)
    t = table()
    out: set[str] = set()
    for raw in names:
        code = raw.strip().lower()
        if not code:
            continue
        if code in t.groups:
            out.update(t.groups[code])
        elif code in t.jurisdictions:
            out.add(code)
        else:
            known = ", ".join([*sorted(t.jurisdictions), *sorted(t.groups)])
            raise ResidencyError(f"unknown jurisdiction {code!r} (known: {known})")
    if not out:
        raise ResidencyError("names no jurisdiction")
    return frozenset(out)


def describe(allowed: frozenset[str]) -> str:
    return ", ".join(sorted(allowed))
