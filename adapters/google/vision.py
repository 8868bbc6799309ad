"""Cloud Vision ``images:annotate``: vision.labels, .objects, .faces, .ocr, .moderation.

One image and one feature per request: LABEL_DETECTION, OBJECT_LOCALIZATION, FACE_DETECTION,
TEXT_DETECTION (DOCUMENT_TEXT_DETECTION when the request says ``document``) and
SAFE_SEARCH_DETECTION.

- Boxes: objects come as ``normalizedVertices`` (fractions already); faces and text as pixel
  ``vertices`` where a zero coordinate is omitted (``{"y": 10}`` is x=0), divided by the
  image size the gateway sniffed (for OCR, the page size Vision reports when the gateway
  has none). Faces use ``fdBoundingPoly`` (the face itself; ``boundingPoly`` frames the
  whole head) and carry every landmark, named as Vision names them in lower case
  (``left_eye``, ``nose_tip``), at fractions of the image.
- OCR text is ``fullTextAnnotation.text`` as Google wrote it (trailing white space cut);
  rebuilding it from the symbols would lose what Google put between them. Lines come from
  ``fullTextAnnotation`` too: words joined by their detected breaks, a line ending at
  ``EOL_SURE_SPACE``, ``LINE_BREAK`` or ``HYPHEN`` (kept as ``-``) and at each paragraph's
  end; a line's box is the union of its words', its confidence the mean of theirs. Without
  ``fullTextAnnotation`` the text is ``textAnnotations[0].description`` and the lines are
  its lines, with no box and confidence null (Google gives neither per line there).
- Moderation (SafeSearch) gives a likelihood per category (adult, spoof, medical,
  violence, racy), Google's own five-step scale, not a score. Mapped through ``LIKELIHOOD``
  (the table in ``adapters/google/README.md``): VERY_UNLIKELY 0.05, UNLIKELY 0.25,
  POSSIBLE 0.5, LIKELY 0.75, VERY_LIKELY 0.95 (UNKNOWN: no flag). Flags are the
  categories at POSSIBLE or above, named as Vision names them.
- An error inside the 200 (``responses[0].error``) raises (``errors.status_error``): it is
  never an empty result.
"""

from __future__ import annotations

from typing import Any

from adapters.base import CallContext, ProviderResult
from adapters.google.clients import GoogleClients
from adapters.google.common import enum_name, normalized_box, raw, score, vertices_box
from adapters.google.errors import status_error
from adapters.kit import checked_image, image_size, parsed
from omnisense.schema import (
    DetectedObject,
    Face,
    FacesResult,
    ImageRequest,
    ImageSize,
    InvalidInput,
    Label,
    LabelsResult,
    Landmark,
    ModerationFlag,
    ModerationResult,
    ObjectsResult,
    OcrLine,
    OcrResult,
    Task,
    TaskResult,
    Unsupported,
)
from omnisense.schema.results import by_confidence

MODEL = "cloud-vision"
TASKS = frozenset({Task.VISION_LABELS, Task.VISION_OBJECTS, Task.VISION_FACES, Task.VISION_OCR, Task.VISION_MODERATION})
FORMATS = frozenset({"jpeg", "png", "gif", "bmp", "webp", "tiff"})
# A JSON request is at most 10 MiB, and inline content is base64 (4/3 of the bytes).
MAX_BYTES = 10 * 1024 * 1024 * 3 // 4 - 16 * 1024
# Feature.Type values (the REST API takes the integer or the name).
FACE_DETECTION, LABEL_DETECTION, TEXT_DETECTION, DOCUMENT_TEXT_DETECTION = 1, 4, 5, 11
SAFE_SEARCH_DETECTION, OBJECT_LOCALIZATION = 6, 19
FEATURES = {
    Task.VISION_LABELS: LABEL_DETECTION,
    Task.VISION_OBJECTS: OBJECT_LOCALIZATION,
    Task.VISION_FACES: FACE_DETECTION,
    Task.VISION_OCR: TEXT_DETECTION,
    Task.VISION_MODERATION: SAFE_SEARCH_DETECTION,
}
# Google's Likelihood enum (VERY_UNLIKELY=1 .. VERY_LIKELY=5) -> confidence: the README's table.
LIKELIHOOD = {1: 0.05, 2: 0.25, 3: 0.5, 4: 0.75, 5: 0.95}
FLAG_FROM = 3  # POSSIBLE
SAFE_SEARCH = ("adult", "spoof", "medical", "violence", "racy")
SPACE, SURE_SPACE, EOL_SURE_SPACE, HYPHEN, LINE_BREAK = 1, 2, 3, 4, 5


def to_vendor(task: Task, request: ImageRequest) -> dict[str, Any]:
    """The ``BatchAnnotateImagesRequest`` for ``task`` (one image, one feature)."""
    media = request.image
    image: dict[str, Any]
    if media.uri:
        if not media.uri.startswith(("gs://", "https://")):
            raise InvalidInput(f"google reads images from bytes, gs:// or https:// URIs, not {media.uri[:60]!r}")
        image = {"source": {"image_uri": media.uri}}
    else:
        image = {"content": checked_image(media, "cloud vision", FORMATS, MAX_BYTES)}
    feature = FEATURES[task]
    if task is Task.VISION_OCR and request.document:
        feature = DOCUMENT_TEXT_DETECTION
    one: dict[str, Any] = {"image": image, "features": [{"type_": feature, "max_results": request.max_results}]}
    if task is Task.VISION_OCR and request.language:
        one["image_context"] = {"language_hints": [request.language]}
    return {"requests": [one]}


def first_response(batch: Any) -> Any:
    """``responses[0]`` of the raw answer, raising the error a 200 may carry inside it."""
    if not batch.responses:
        raise status_error(13, "no response for the image", "cloud vision")
    response = batch.responses[0]
    if response.HasField("error") and response.error.code:
        raise status_error(response.error.code, response.error.message, "cloud vision")
    return response


def from_vendor(task: Task, response: Any, request: ImageRequest) -> TaskResult:
    size = image_size(request.image)
    if task is Task.VISION_LABELS:
        labels = [Label(str(a.description), score(a.score)) for a in response.label_annotations]
        labels.sort(key=by_confidence)
        return LabelsResult(labels=labels[: request.max_results], image=size)
    if task is Task.VISION_OBJECTS:
        return objects_result(response, request, size)
    if task is Task.VISION_FACES:
        return faces_result(response, request, size)
    if task is Task.VISION_OCR:
        return ocr_result(response, size)
    return moderation_result(response, size)


def objects_result(response: Any, request: ImageRequest, size: ImageSize | None) -> ObjectsResult:
    objects = []
    for a in response.localized_object_annotations:
        box = normalized_box(a.bounding_poly.normalized_vertices)
        if box is not None:
            objects.append(DetectedObject(str(a.name), score(a.score), box))
    objects.sort(key=by_confidence)
    return ObjectsResult(objects=objects[: request.max_results], image=size)


def faces_result(response: Any, request: ImageRequest, size: ImageSize | None) -> FacesResult:
    if response.face_annotations and size is None:
        raise Unsupported("google: faces need the image size (send the image bytes)", field="image")
    faces = []
    for a in response.face_annotations:
        poly = a.fd_bounding_poly if a.fd_bounding_poly.vertices else a.bounding_poly
        box = vertices_box(poly.vertices, size)
        if box is None or size is None:
            continue
        marks = [
            Landmark(enum_name(m, "type_").lower(), score(m.position.x / size.width), score(m.position.y / size.height))
            for m in a.landmarks
        ]
        faces.append(Face(score(a.detection_confidence), box, marks or None))
    return FacesResult(faces=faces[: request.max_results], image=size)


def ocr_result(response: Any, size: ImageSize | None) -> OcrResult:
    annotation = response.full_text_annotation
    if not annotation.text and not annotation.pages:
        return text_annotations_result(response, size)
    lines: list[OcrLine] = []
    for page in annotation.pages:
        page_size = size or (ImageSize(page.width, page.height) if page.width and page.height else None)
        for block in page.blocks:
            for paragraph in block.paragraphs:
                lines.extend(paragraph_lines(paragraph, page_size))
    if size is None and annotation.pages and annotation.pages[0].width:
        size = ImageSize(annotation.pages[0].width, annotation.pages[0].height)
    text = str(annotation.text) or (str(response.text_annotations[0].description) if response.text_annotations else "")
    return OcrResult(text=text.rstrip() or "\n".join(line.text for line in lines), lines=lines, image=size)


def text_annotations_result(response: Any, size: ImageSize | None) -> OcrResult:
    """OCR from ``textAnnotations`` alone: the first is the whole text, its lines have no box or score."""
    text = str(response.text_annotations[0].description).rstrip() if response.text_annotations else ""
    lines = [OcrLine(line.strip(), None) for line in text.splitlines() if line.strip()]
    return OcrResult(text=text, lines=lines, image=size)


def paragraph_lines(paragraph: Any, size: ImageSize | None) -> list[OcrLine]:
    """A paragraph's words joined into lines at their detected line breaks."""
    lines: list[OcrLine] = []
    text, words = "", []
    for word in paragraph.words:
        symbols = word.symbols
        text += "".join(str(s.text) for s in symbols)
        words.append(word)
        brk = symbols[-1].property.detected_break.type_ if symbols else 0
        if brk in (SPACE, SURE_SPACE):
            text += " "
        elif brk == HYPHEN:
            text += "-"
        if brk in (EOL_SURE_SPACE, LINE_BREAK, HYPHEN):
            lines.append(_line(text, words, size))
            text, words = "", []
    if words:
        lines.append(_line(text, words, size))
    return [line for line in lines if line.text]


def _line(text: str, words: list[Any], size: ImageSize | None) -> OcrLine:
    pixels = [v for w in words for v in w.bounding_box.vertices]
    box = (
        vertices_box(pixels, size)
        if pixels
        else normalized_box(v for w in words for v in w.bounding_box.normalized_vertices)
    )
    confidence = sum(float(w.confidence) for w in words) / len(words)
    return OcrLine(text.strip(), score(confidence), box)


def moderation_result(response: Any, size: ImageSize | None) -> ModerationResult:
    safe = response.safe_search_annotation
    flags = []
    for category in SAFE_SEARCH:
        level = int(getattr(safe, category))
        if level >= FLAG_FROM and level in LIKELIHOOD:
            flags.append(ModerationFlag(category, LIKELIHOOD[level]))
    flags.sort(key=by_confidence)
    return ModerationResult(flags=flags, image=size)


async def run(google: GoogleClients, task: Task, request: ImageRequest, ctx: CallContext) -> ProviderResult:
    batch = await google.call("vision", "batch_annotate_images", to_vendor(task, request), ctx)
    response = parsed(google.name, lambda: first_response(batch))
    result = parsed(google.name, lambda: from_vendor(task, response, request))
    return ProviderResult(result=result, model=MODEL, raw=raw(batch, request.include_raw))
