"""The adapter kit: what every vendor adapter shares, so an adapter holds only its vendor.

- ``config``: ``ProviderConfig``, the base of every provider's policy block (unknown keys
  refused), and ``config_problems`` / ``parse_config`` that name the offending path.
- ``pool``: ``BlockingPool``, the bounded thread pool a sync SDK runs in, with
  ``run_blocking`` bounding a call by the request's deadline.
- ``clients``: ``SdkClients``, the base of a vendor's SDK clients: built lazily under a
  lock, called in the pool with errors mapped, closed once.
- ``errors``: HTTP status -> error tree, Retry-After, ``mapped_errors`` around vendor
  code, ``parsed`` around ``from_vendor`` steps.
- ``prices``: the price-table loader (a YAML file next to the adapter) and overrides.
- ``convert``: pure helpers for results (ratios, confidences, boxes, text spans, languages)
  and the checks before a call (``checked_image``, ``utf8_limit``).
- ``provider``: ``VendorProvider``, the base class: ``serves = {Task: function}``, the
  request type checked once from the task table, ``min_confidence``; ``timed_probe``.
"""

from adapters.kit.clients import SdkClients
from adapters.kit.config import ProviderConfig, config_problems, parse_config
from adapters.kit.convert import (
    box_from_corners,
    box_from_pixels,
    box_from_ratios,
    checked_image,
    image_size,
    locate,
    mean,
    optional_unit,
    percent,
    request_language,
    request_primary,
    span,
    unit,
    utf8_limit,
)
from adapters.kit.errors import error_for_status, mapped_errors, parse_retry_after, parsed
from adapters.kit.pool import BlockingPool
from adapters.kit.prices import PriceTable, build_prices
from adapters.kit.provider import Handler, Serve, VendorProvider, timed_probe
from adapters.kit.results import apply_min_confidence

__all__ = [
    "BlockingPool",
    "Handler",
    "PriceTable",
    "ProviderConfig",
    "SdkClients",
    "Serve",
    "VendorProvider",
    "apply_min_confidence",
    "box_from_corners",
    "box_from_pixels",
    "box_from_ratios",
    "build_prices",
    "checked_image",
    "config_problems",
    "error_for_status",
    "image_size",
    "locate",
    "mapped_errors",
    "mean",
    "optional_unit",
    "parse_config",
    "parse_retry_after",
    "parsed",
    "percent",
    "request_language",
    "request_primary",
    "span",
    "timed_probe",
    "unit",
    "utf8_limit",
]
