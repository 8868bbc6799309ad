"""The request side of the mapping: a task's request as OIP (V2) input tensors.

Pure functions. Text goes as a BYTES tensor of shape [1]; an image or audio file as a
BYTES tensor of its base64 (``content_type: base64``, which MLServer decodes); an image
as pixels is decoded with Pillow, resized, scaled and normalized per channel, and laid
out as declared (batch dimension of 1 for NHWC/NCHW).
"""

from __future__ import annotations

import base64
import io
from typing import Any

from adapters.oip.config import OipConfig, TensorInput
from omnisense.schema import ImageRequest, InvalidInput, Media, TaskRequest, TranscribeRequest


def infer_body(config: OipConfig, request: TaskRequest, request_id: str) -> dict[str, Any]:
    """The JSON body of ``POST .../infer``."""
    body: dict[str, Any] = {"id": request_id, "inputs": [tensor(t, request) for t in config.inputs]}
    if config.request_outputs:
        body["outputs"] = [{"name": name} for name in config.outputs.names()]
    return body


def tensor(spec: TensorInput, request: TaskRequest) -> dict[str, Any]:
    if spec.pixels:
        assert isinstance(request, ImageRequest)
        shape, data = pixels(spec, request.image)
        return {"name": spec.name, "shape": shape, "datatype": spec.datatype, "data": data}
    value = _field(spec, request)
    content_type = spec.content_type
    if isinstance(value, Media):
        text = base64.b64encode(value.data).decode()
        content_type = content_type or "base64"
    else:
        text = value
    out: dict[str, Any] = {"name": spec.name, "shape": [1], "datatype": "BYTES", "data": [text]}
    if content_type:
        out["parameters"] = {"content_type": content_type}
    return out


def _field(spec: TensorInput, request: TaskRequest) -> str | Media:
    if spec.source == "image" and isinstance(request, ImageRequest):
        return request.image
    if spec.source == "audio" and isinstance(request, TranscribeRequest):
        return request.audio
    value = getattr(request, spec.source, None)
    if not isinstance(value, str):
        raise InvalidInput(f"this model needs the request's {spec.source!r}", field=spec.source)
    return value


def pixels(spec: TensorInput, image: Media) -> tuple[list[int], list[float]]:
    """(shape, row-major data) of ``image`` resized to ``spec.size`` in ``spec.layout``."""
    from PIL import Image, UnidentifiedImageError

    assert spec.size is not None
    width, height = spec.size
    try:
        with Image.open(io.BytesIO(image.data)) as img:
            rgb = img.convert("RGB").resize((width, height), Image.Resampling.BILINEAR)
    except (UnidentifiedImageError, OSError) as exc:
        raise InvalidInput(f"the image cannot be decoded: {exc}", field="image") from None
    raw = rgb.tobytes()  # interleaved R, G, B bytes, row by row
    # A pixel has 256 values per channel: normalize through a lookup table, (v * scale - mean) / std,
    # kept to 6 significant digits (the JSON stays small; FP32 holds about 7).
    tables = [[float(f"{(v * spec.scale - spec.mean[c]) / spec.std[c]:.6g}") for v in range(256)] for c in range(3)]
    channels = [list(map(tables[c].__getitem__, raw[c::3])) for c in range(3)]
    hwc = spec.layout in ("NHWC", "HWC")
    if hwc:  # interleave by slice assignment (C speed)
        data = [0.0] * len(raw)
        for c in range(3):
            data[c::3] = channels[c]
    else:
        data = channels[0] + channels[1] + channels[2]
    shape = [height, width, 3] if hwc else [3, height, width]
    if spec.layout.startswith("N"):
        shape = [1, *shape]
    return shape, data
