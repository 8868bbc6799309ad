"""Six-category text toxicity: the Jigsaw model of ``tox-block`` 0.1.2 (MIT), run in numpy.

tox-block's own code needs TensorFlow; its two files are all that is used here:

- ``encoder_0.1.2.pkl``: a pickled Keras ``Tokenizer`` (20,000 words). It is read with an
  unpickler that builds no class of anyone's (every class it names becomes a plain record,
  only ``collections`` and ``int`` are real), and only its ``word_index``, ``filters`` and
  ``num_words`` are kept;
- ``lstm_model_0.1.2.h5``: Embedding(20000, 50) -> Bidirectional LSTM(50, sequences) ->
  GlobalMaxPool1D -> Dense(50, relu) -> Dense(6, sigmoid), read with h5py.

The forward pass reproduces Keras 2's: texts become word indices as ``Tokenizer.
texts_to_sequences`` does, padded and cut at the front to 100 (``pad_sequences``); the LSTM
gates are i, f, c, o with the model's ``hard_sigmoid`` (0.2 x + 0.5, clipped) and tanh.
Scores are rescaled per category by tox-block's own min-max constants (``RESCALE_PROBA``,
what its ``make_predictions`` does by default) and clipped to [0, 1].
"""

from __future__ import annotations

import hashlib
import pickle
from importlib import resources
from typing import Any

import numpy as np

MODEL_FILE = "lstm_model_0.1.2.h5"
MODEL_SHA256 = "587d40726f1250341a3661fac099e46582cf34cdd5136eb88a726bf6d62ec24e"  # checked on load
ENCODER_FILE = "encoder_0.1.2.pkl"
CLASSES = ("toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate")
# tox-block's config.RESCALE_PROBA: (min, max) of each category's predictions on its training data.
RESCALE = {
    "toxic": (0.002116, 0.999858),
    "severe_toxic": (0.000011, 0.648682),
    "obscene": (0.000347, 0.997533),
    "threat": (0.000040, 0.918887),
    "insult": (0.000373, 0.986303),
    "identity_hate": (0.000074, 0.901117),
}
# The Jigsaw categories -> the gateway's fixed ones (the model's name stays in vendor_category).
CATEGORIES = {
    "toxic": "toxicity",
    "severe_toxic": "toxicity",
    "obscene": "profanity",
    "threat": "threat",
    "insult": "insult",
    "identity_hate": "hate",
}
MAX_LEN = 100


class _Record:
    """Whatever class the pickle names: its state, as attributes, and nothing else."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, dict):
            self.__dict__.update(state)


class _RecordsUnpickler(pickle.Unpickler):
    SAFE = {("collections", "OrderedDict"), ("collections", "defaultdict"), ("builtins", "int")}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self.SAFE:
            return super().find_class(module, name)
        return type(name, (_Record,), {})


def _package_file(name: str) -> Any:
    return resources.files("tox_block").joinpath("trained_models", name)


def _hard_sigmoid(x: np.ndarray) -> np.ndarray:
    return np.clip(0.2 * x + 0.5, 0.0, 1.0)


class Tokenizer:
    """Keras 2's ``Tokenizer.texts_to_sequences`` for a fitted word index."""

    def __init__(self, word_index: dict[str, int], filters: str, num_words: int) -> None:
        self.index = {w: i for w, i in word_index.items() if i < num_words}
        self.table = str.maketrans({c: " " for c in filters})

    def sequence(self, text: str) -> np.ndarray:
        words = text.lower().translate(self.table).split(" ")
        ids = [self.index[w] for w in words if w and w in self.index]
        out = np.zeros(MAX_LEN, dtype=np.int64)  # pad and cut at the front, as pad_sequences does
        ids = ids[-MAX_LEN:]
        if ids:
            out[MAX_LEN - len(ids) :] = ids
        return out


class ToxicityModel:
    """Scores in [0, 1] for the six Jigsaw categories, per text."""

    model_name = "tox-block-0.1.2-jigsaw-bilstm"

    def __init__(self) -> None:
        import h5py

        with _package_file(ENCODER_FILE).open("rb") as f:
            encoder = _RecordsUnpickler(f).load()
        tok = encoder.tokenizer
        self.tokenizer = Tokenizer(dict(tok.word_index), str(tok.filters), int(tok.num_words))
        path = _package_file(MODEL_FILE)
        if hashlib.sha256(path.read_bytes()).hexdigest() != MODEL_SHA256:
            raise RuntimeError(f"{MODEL_FILE} in tox_block does not match its sha256")
        with h5py.File(str(path), "r") as h5:
            w = h5["model_weights"]

            def get(name: str) -> np.ndarray:
                return np.asarray(w[name], dtype=np.float32)

            self.embeddings = get("embedding/embedding/embeddings:0")
            lstm = "bidirectional/bidirectional/{}_lstm/{}:0"
            self.lstm = {
                side: tuple(get(lstm.format(side, part)) for part in ("kernel", "recurrent_kernel", "bias"))
                for side in ("forward", "backward")
            }
            self.dense = (get("dense/dense/kernel:0"), get("dense/dense/bias:0"))
            self.out = (get("dense_1/dense_1/kernel:0"), get("dense_1/dense_1/bias:0"))

    def _lstm_max(self, x: np.ndarray, side: str) -> np.ndarray:
        """The LSTM run over (batch, time, 50), max-pooled over time (order-free, so the
        backward direction needs no re-reversal)."""
        kernel, recurrent, bias = self.lstm[side]
        units = recurrent.shape[0]
        steps = x[:, ::-1] if side == "backward" else x
        inputs = steps @ kernel + bias  # (batch, time, 4 units)
        h = np.zeros((x.shape[0], units), dtype=np.float32)
        c = np.zeros_like(h)
        best = np.full_like(h, -np.inf)
        for t in range(x.shape[1]):
            z = inputs[:, t] + h @ recurrent
            i = _hard_sigmoid(z[:, :units])
            f = _hard_sigmoid(z[:, units : 2 * units])
            g = np.tanh(z[:, 2 * units : 3 * units])
            o = _hard_sigmoid(z[:, 3 * units :])
            c = f * c + i * g
            h = o * np.tanh(c)
            best = np.maximum(best, h)
        return best

    def raw_scores(self, texts: list[str]) -> np.ndarray:
        """The model's sigmoid outputs, (len(texts), 6)."""
        ids = np.stack([self.tokenizer.sequence(t) for t in texts])
        x = self.embeddings[ids]
        pooled = np.concatenate([self._lstm_max(x, "forward"), self._lstm_max(x, "backward")], axis=1)
        hidden = np.maximum(pooled @ self.dense[0] + self.dense[1], 0.0)
        logits = hidden @ self.out[0] + self.out[1]
        scores: np.ndarray = 1.0 / (1.0 + np.exp(-logits))
        return scores

    def scores(self, texts: list[str]) -> list[dict[str, float]]:
        """Rescaled scores per category (tox-block's default), clipped to [0, 1]."""
        out = []
        for row in self.raw_scores(texts):
            out.append(
                {
                    name: float(np.clip(abs((p - RESCALE[name][0]) / (RESCALE[name][1] - RESCALE[name][0])), 0, 1))
                    for name, p in zip(CLASSES, row, strict=True)
                }
            )
        return out
