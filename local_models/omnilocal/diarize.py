"""Speaker diarization: who spoke when, aligned with whisper's word timings.

1. Voice activity: silero-vad (MIT; its model ships inside the ``silero-vad`` wheel) finds the
   speech regions.
2. Speaker embeddings: Resemblyzer's encoder (Apache-2.0; ``pretrained.pt`` ships inside the
   ``Resemblyzer`` wheel) embeds windows of ``WINDOW_S`` every ``STEP_S`` inside each region
   (a region shorter than a window is one window).
3. Clustering: agglomerative, average linkage on cosine distance (scipy): cut at the expected
   number of speakers when the request gives one, else at ``DISTANCE``. At the distance cut,
   only windows of at least ``RELIABLE_S`` found speakers: a shorter one ("Thank you," alone
   between pauses) embeds too little speech and, clustered with the rest, sometimes came out
   as a speaker of its own. Each short window joins the speaker whose mean embedding is
   nearest to it. A given count already rules out extra speakers, and a speaker who only says
   "Yes." must still be found: then every window is clustered.
4. Each word takes the speaker of the windows that overlap it most (by total overlap); a word
   outside every window takes the speaker of the window nearest to its middle. Labels are
   ``S1``, ``S2``... in order of first word, and consecutive words of one speaker make a segment.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .budget import check_deadline

RATE = 16_000
WINDOW_S = 1.5
STEP_S = 0.5
MIN_REGION_S = 0.3  # shorter speech regions are not embedded (their words take the nearest window)
DISTANCE = 0.3  # cosine distance: windows further apart than this are different speakers (no count given)
RELIABLE_S = 1.0  # shorter windows do not found a speaker: they join the nearest one


class Diarizer:
    model_name = "silero-vad+resemblyzer"

    def __init__(self) -> None:
        from resemblyzer import VoiceEncoder
        from silero_vad import load_silero_vad

        self.vad = load_silero_vad(onnx=True)
        self.encoder = VoiceEncoder("cpu", verbose=False)

    def windows(self, samples: np.ndarray) -> list[tuple[float, float]]:
        """(start_s, end_s) of each window to embed, inside the speech regions."""
        import torch
        from silero_vad import get_speech_timestamps

        regions = get_speech_timestamps(torch.from_numpy(samples), self.vad, sampling_rate=RATE, return_seconds=True)
        out: list[tuple[float, float]] = []
        for region in regions:
            start, end = float(region["start"]), float(region["end"])
            if end - start < MIN_REGION_S:
                continue
            if end - start <= WINDOW_S:
                out.append((start, end))
                continue
            t = start
            while t + WINDOW_S <= end + 1e-6:
                out.append((t, t + WINDOW_S))
                t += STEP_S
            if out[-1][1] < end - STEP_S / 2:
                out.append((end - WINDOW_S, end))
        return out

    def embed(self, samples: np.ndarray, windows: list[tuple[float, float]]) -> np.ndarray:
        rows = []
        for start, end in windows:
            check_deadline("diarization")
            part = samples[int(start * RATE) : int(end * RATE)].astype(np.float32)
            rows.append(self.encoder.embed_utterance(part))
        return np.stack(rows)

    def label_words(self, samples: np.ndarray, words: list[dict[str, Any]], count: int | None) -> list[str]:
        """A speaker label (``S1``...) for each word."""
        if not words:
            return []
        windows = self.windows(samples)
        if not windows:
            return ["S1"] * len(words)
        lengths = [end - start for start, end in windows]
        return label_words_from(words, windows, cluster(self.embed(samples, windows), count, lengths))


def label_words_from(words: list[dict[str, Any]], windows: list[tuple[float, float]], clusters: list[int]) -> list[str]:
    """Each word's speaker (``S1``...) from the windows' clusters."""
    return relabel([_speaker_of(w, windows, clusters) for w in words])


def cluster(embeddings: np.ndarray, count: int | None, lengths: list[float] | None = None) -> list[int]:
    """Each window's speaker. With no ``count``, the windows of ``RELIABLE_S`` or more (``lengths``,
    seconds) are clustered, and each shorter one takes the cluster whose mean embedding is nearest."""
    reliable = [i for i, s in enumerate(lengths or []) if s >= RELIABLE_S]
    if count is not None or not reliable or len(reliable) == len(embeddings):
        return _agglomerate(embeddings, count)
    found = _agglomerate(embeddings[reliable], None)  # the distance cut: no count reaches here
    labels = sorted(set(found))
    centroids = np.stack([embeddings[[i for i, c in zip(reliable, found, strict=True) if c == label]].mean(axis=0)
                          for label in labels])  # fmt: skip
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    out = [0] * len(embeddings)
    for i, c in zip(reliable, found, strict=True):
        out[i] = c
    for i in set(range(len(embeddings))) - set(reliable):
        similarity = centroids @ (embeddings[i] / np.linalg.norm(embeddings[i]))
        out[i] = labels[int(np.argmax(similarity))]
    return out


def _agglomerate(embeddings: np.ndarray, count: int | None) -> list[int]:
    """Agglomerative clusters (average linkage, cosine distance): ``count`` of them, or cut at ``DISTANCE``."""
    if len(embeddings) == 1:
        return [0]
    from scipy.cluster.hierarchy import fcluster, linkage

    tree = linkage(embeddings, method="average", metric="cosine")
    if count is not None:
        labels = fcluster(tree, t=min(count, len(embeddings)), criterion="maxclust")
    else:
        labels = fcluster(tree, t=DISTANCE, criterion="distance")
    return [int(x) for x in labels]


def _speaker_of(word: dict[str, Any], windows: list[tuple[float, float]], clusters: list[int]) -> int:
    start, end = float(word["start"]), float(word["end"])
    overlap: dict[int, float] = {}
    for (w0, w1), c in zip(windows, clusters, strict=True):
        shared = min(end, w1) - max(start, w0)
        if shared > 0:
            overlap[c] = overlap.get(c, 0.0) + shared
    if overlap:
        return max(overlap, key=lambda c: overlap[c])
    middle = (start + end) / 2
    nearest = min(range(len(windows)), key=lambda i: max(windows[i][0] - middle, 0.0, middle - windows[i][1]))
    return clusters[nearest]


def relabel(clusters: list[int]) -> list[str]:
    names: dict[int, str] = {}
    return [names.setdefault(c, f"S{len(names) + 1}") for c in clusters]


def segments(words: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One segment per run of consecutive words of one speaker (words carry ``speaker``)."""
    out: list[dict[str, Any]] = []
    for w in words:
        if out and out[-1]["speaker"] == w["speaker"]:
            out[-1]["end_s"] = max(out[-1]["end_s"], w["end"])
            out[-1]["text"] += " " + w["text"]
        else:
            out.append({"start_s": w["start"], "end_s": w["end"], "speaker": w["speaker"], "text": w["text"]})
    return out
