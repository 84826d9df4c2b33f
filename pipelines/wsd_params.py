"""The disambiguation's fitted parameters (``artifacts/senses/wsd.json``, written by ``lexiflow eval
senses --wordnet``): the feature weights of ``pipelines.wsd``, the target-vector background, the
frequency prior and the grouping's knobs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.embeddings.contextual import ContextualEncoder
from pipelines.errors import ResourceError, read_resource_json
from pipelines.lesk import SIF_A

FORMAT = "wsd-v1"
FEATURES = ("gloss", "gloss_target", "example", "example_sentence", "prior", "lesk", "compound", "align",
            "related_gloss")
OPTIONAL_FEATURES = ("lesk", "compound", "align", "related_gloss")  # weight 0 when an older wsd.json lacks them


@dataclass(frozen=True)
class WsdParams:
    layers: tuple[int, ...]  # hidden-state indices averaged for target vectors (0 = embeddings)
    weights: dict[str, float]  # one per FEATURES name
    target_mean: np.ndarray  # (H,) background of target vectors (anisotropy correction)
    target_std: np.ndarray  # (H,)
    sentence_mean: np.ndarray  # (H,) background of sentence embeddings
    sentence_weight: float = 0.5  # grouping: target vector + this x centred sentence embedding
    wsd_weight: float = 0.0  # p(same): cosine + this x the probability that both get the same synset
    frequency_prior: dict[str, float] = field(default_factory=dict)  # pos -> beta: + beta x log(tag count + 1)
    case_rule: bool = False  # a lower-case occurrence never takes a capitalised (proper-name) sense
    p_same: tuple[float, float] = (10.0, -5.0)  # p(same sense) = sigmoid(a * cos + b) on that representation
    threshold: float = 0.5  # cosine at which p_same = 0.5 on WiC dev
    silhouette_min: float = 0.0  # below this best silhouette, the occurrences stay one group
    lexname_ratio: float = 1.0  # one group when one supersense has >= this x each occurrence's top one (1 = off)
    lexname_rule: bool = True  # one group when every occurrence's top sense is in the same supersense
    split_wsd_weight: float = 0.0  # the spectral split's similarity: (cosine + this x p(same sense)) / (1 + this)
    split_coarse_depth: int = 0  # p(same sense) of the split: 0 the same synset, d > 0 hypernyms meeting within d
    k_penalty: float = 0.0  # the spectral split's k: best silhouette less this per group beyond two
    distinct_loss: float = 0.0  # naming: groups whose best sense is one synset stay apart with distinct
    # senses when that costs at most this many nats per occurrence (0: they are merged)
    lesk_a: float = SIF_A  # the smooth-inverse-frequency constant of the lesk feature's bags
    source: str = "in memory"

    @property
    def uses_static_words(self) -> bool:
        """Whether a feature reads GloVe (``lesk``, ``align``): the loader gives the static vectors then."""
        return bool(self.weights.get("lesk") or self.weights.get("align"))

    @classmethod
    def load(cls, path: str | Path) -> WsdParams:
        path = Path(path)
        data = read_resource_json(path, make="`lexiflow eval senses --wordnet`")
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "in memory") -> WsdParams:
        if data.get("format") != FORMAT:
            raise ResourceError(f"{source}: format {data.get('format')!r}, expected {FORMAT!r}")
        try:
            weights = {k: float(data["weights"][k] if k not in OPTIONAL_FEATURES else data["weights"].get(k, 0.0))
                       for k in FEATURES}
            bg = data["background"]
            mean, std, smean = (np.asarray(bg[k], dtype=np.float32) for k in ("target_mean", "target_std",
                                                                               "sentence_mean"))
            g = data.get("grouping", {})
            params = cls(layers=tuple(int(x) for x in data["layers"]), weights=weights, target_mean=mean,
                         target_std=np.maximum(std, 1e-6), sentence_mean=smean,
                         sentence_weight=float(g.get("sentence_weight", 0.5)),
                         wsd_weight=float(g.get("wsd_weight", 0.0)),
                         frequency_prior=_per_pos(data.get("frequency_prior", 0.0)),
                         case_rule=bool(data.get("case_rule", False)),
                         p_same=(float(g["p_same"]["a"]), float(g["p_same"]["b"])) if "p_same" in g else (10.0, -5.0),
                         threshold=float(g.get("threshold", 0.5)), silhouette_min=float(g.get("silhouette_min", 0.0)),
                         lexname_ratio=float(g.get("lexname_ratio", 1.0)),
                         lexname_rule=bool(g.get("lexname_rule", True)),
                         split_wsd_weight=float(g.get("split_wsd_weight", 0.0)),
                         split_coarse_depth=int(g.get("split_coarse_depth", 0)),
                         distinct_loss=float(g.get("distinct_loss", 0.0)),
                         k_penalty=float(g.get("k_penalty", 0.0)),
                         lesk_a=float(data.get("lesk", {}).get("sif_a", SIF_A)),
                         source=source)
        except (KeyError, TypeError, ValueError) as exc:
            raise ResourceError(f"{source}: missing or invalid field ({exc})") from exc
        if not (mean.shape == std.shape == smean.shape and mean.ndim == 1):
            raise ResourceError(f"{source}: background vectors differ in shape")
        return params

    def check(self, encoder: ContextualEncoder) -> None:
        if self.target_mean.shape[0] != encoder.hidden_size:
            raise ResourceError(f"{self.source}: background size {self.target_mean.shape[0]} but the encoder's "
                                f"hidden size is {encoder.hidden_size} (made for another encoder?)")
        if not all(0 <= k <= encoder.num_layers for k in self.layers):
            raise ResourceError(f"{self.source}: layers {self.layers} outside 0..{encoder.num_layers}")

    def target(self, hidden: np.ndarray) -> np.ndarray:
        """(..., L+1, H) -> (..., H): mean of the chosen layers, standardised, unit length."""
        x = hidden[..., list(self.layers), :].mean(axis=-2)
        z = (x - self.target_mean) / self.target_std
        return z / np.maximum(np.linalg.norm(z, axis=-1, keepdims=True), 1e-12)

    def sentence(self, emb: np.ndarray) -> np.ndarray:
        """Centred, unit-length sentence embeddings."""
        c = emb - self.sentence_mean
        return c / np.maximum(np.linalg.norm(c, axis=-1, keepdims=True), 1e-12)

    def grouping_vector(self, target: np.ndarray, sentence: np.ndarray) -> np.ndarray:
        """Target vector concatenated with ``sentence_weight`` x the centred sentence embedding."""
        return np.concatenate([target, self.sentence_weight * sentence], axis=-1)


def _per_pos(value: object) -> dict[str, float]:
    """``frequency_prior``: one number for every part of speech, or ``{pos: number}``."""
    if isinstance(value, dict):
        return {str(k): float(v) for k, v in value.items() if k in ("n", "v", "a", "r")}
    return {p: float(value) for p in ("n", "v", "a", "r")} if float(value) else {}  # type: ignore[arg-type]
