"""Which OCR engine reads each language better: tesseract or RapidOCR, on rendered lines.

Run from local_models/: ``.venv/bin/python eval/ocr_compare.py``. Each sentence (below,
written for this comparison and used for nothing else) is rendered black on white in
DejaVu Sans (Latin scripts) or WenQuanYi Micro Hei (Chinese; Debian fonts-wqy-microhei) at
40 px; the score is the character accuracy, 1 - (edit distance / length), white space
ignored. omnilocal.vision.OCR_ENGINES records the engine chosen per language from this
table (ties: tesseract, the incumbent).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image, ImageDraw, ImageFont

DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
WQY = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
SENTENCES = {
    "en": [
        "Invoice number 4471 is due on Friday",
        "Keep out of reach of children",
        "The quick delivery van left at noon",
    ],
    "de": ["Grüße aus München und Köln", "Die Straße ist heute gesperrt", "Öffnungszeiten: Montag bis Freitag"],
    "fr": ["Le café est fermé le dimanche", "Défense de fumer à l'intérieur", "Où se trouve la gare, s'il vous plaît?"],
    "es": ["La biblioteca abre a las nueve", "Señales de tráfico en la montaña", "¿Dónde está el baño, por favor?"],
    "zh": ["今天天气很好，我们去公园散步。", "请在此处排队等候", "北京欢迎你"],  # noqa: RUF001
}


def render(text: str, language: str) -> Image.Image:
    font = ImageFont.truetype(WQY if language == "zh" else DEJAVU, 40)
    img = Image.new("RGB", (1200, 140), "white")
    ImageDraw.Draw(img).text((30, 40), text, fill="black", font=font)
    return img


def accuracy(truth: str, read: str) -> float:
    a, b = "".join(truth.split()), "".join(read.split())
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return max(0.0, 1.0 - prev[-1] / max(1, len(a)))


def main() -> None:
    from omnilocal.media import DecodedImage
    from omnilocal.ocr_rapid import RapidOcr
    from omnilocal.vision import Ocr

    tess, rapid = Ocr(tesseract_only=True), RapidOcr()
    print("| language | tesseract | RapidOCR | tesseract s/line | RapidOCR s/line |")
    print("|---|---|---|---|---|")
    for lang, sentences in SENTENCES.items():
        scores: dict[str, list[float]] = {"t": [], "r": []}
        times = {"t": 0.0, "r": 0.0}
        for text in sentences:
            img = DecodedImage(render(text, lang), "png")
            for key in ("t", "r"):
                start = time.perf_counter()
                try:
                    got = (tess.read_tesseract(img, lang) if key == "t" else rapid.read(img))["text"]
                except Exception as exc:  # tesseract has no traineddata for the language
                    got = f"<{type(exc).__name__}>"
                times[key] += time.perf_counter() - start
                scores[key].append(accuracy(text, got))
        n = len(sentences)
        t, r = sum(scores["t"]) / n, sum(scores["r"]) / n
        print(f"| {lang} | {t:.3f} | {r:.3f} | {times['t'] / n:.2f} | {times['r'] / n:.2f} |")


if __name__ == "__main__":
    main()
