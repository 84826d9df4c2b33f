"""Contextual embeddings from a BERT-architecture encoder, aligned to wordpieces and words.

Every forward pass returns all hidden states: index 0 is the embedding layer, 1..L the
transformer layers. Callers choose a layer (or the mean of the last k) and a pooling.
Padding never leaks into results: batches are padded for the forward pass and each item is
cut back to its own length before anything is pooled.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from pipelines.errors import InputError, ResourceError
from pipelines.wordpiece import Encoded, Truncation, WordPieceTokenizer

log = logging.getLogger("lexiflow.pipelines")

Pooling = Literal["mean", "cls", "none"]
POOLINGS: tuple[Pooling, ...] = ("mean", "cls", "none")
Forward = Callable[[Sequence[Encoded]], list[np.ndarray]]
# (input_ids, attention_mask, token_type_ids), int64 (B, T) each -> hidden states (L+1, B, T, H) float32
Runner = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
Backend = Literal["torch", "onnx"]
BACKENDS: tuple[Backend, ...] = ("torch", "onnx")


@dataclass(frozen=True, slots=True)
class TokenStates:
    """One encoded sequence and its hidden states, (layers + 1, length, hidden), no padding."""

    encoded: Encoded
    hidden: np.ndarray


@dataclass(frozen=True, slots=True)
class WordVector:
    sequence: int
    word: int  # word index within its sequence (the tokenizer's pre-tokenized words)
    text: str
    start: int
    end: int
    wordpieces: tuple[int, ...]
    vector: np.ndarray  # mean of its wordpieces' vectors


@dataclass(frozen=True, slots=True)
class WordStates:
    """Hidden states of a text's words: ``vectors`` (n, K, H); ``n`` may be less than the words
    asked for when the encoder cut the text (the words after the cut); ``unknown`` counts the words
    that overlap an [UNK] wordpiece."""

    vectors: np.ndarray
    unknown: int = 0


@dataclass(frozen=True)
class LayerChoice:
    """``layer`` (0 = embeddings, 1..L, negative counts from the top) or the mean of the last ``mean_last``."""

    layer: int = -1
    mean_last: int | None = None

    def describe(self, num_layers: int) -> str:
        if self.mean_last:
            return f"mean of layers {num_layers - self.mean_last + 1}-{num_layers}"
        return f"layer {self.layer % (num_layers + 1)}"

    def select(self, hidden: np.ndarray) -> np.ndarray:
        """(L+1, T, H) -> (T, H)."""
        n = hidden.shape[0]
        if self.mean_last:
            if not 1 <= self.mean_last <= n - 1:
                raise InputError(f"mean_last must be between 1 and {n - 1}", code="bad-layer",
                                 limit=n - 1, given=self.mean_last)
            return hidden[n - self.mean_last:].mean(axis=0)
        if not -n <= self.layer < n:
            raise InputError(f"layer must be between {-n} and {n - 1} (0 = embeddings, {n - 1} = last)",
                             code="bad-layer", limit=n - 1, given=self.layer)
        return hidden[self.layer]


class ContextualEncoder:
    """``model`` is a PyTorch ``BertModel``; with ``runner`` (ONNX Runtime, ``onnx_encoder.OnnxRunner``)
    the forward pass runs there instead and ``model`` may be None (then ``config`` gives its shape)."""

    def __init__(self, model: torch.nn.Module | None, tokenizer: WordPieceTokenizer, *, name: str, version: str,
                 max_batch_tokens: int = 8192, sentence_max_length: int | None = None,
                 runner: Runner | None = None, config: object | None = None, streams: int = 1) -> None:
        """``streams``: forward groups run side by side on this many threads (the ``runner``
        must allow concurrent calls, as an ONNX Runtime session does); 1 runs them one after the other."""
        if model is None and (runner is None or config is None):
            raise ValueError("a ContextualEncoder needs a torch model, or a runner and the model's config")
        cfg = config if config is not None else model.config  # type: ignore[union-attr]
        if cfg.vocab_size < tokenizer.vocab_size:
            raise ResourceError(f"encoder {name!r}: the tokenizer has {tokenizer.vocab_size} tokens but the "
                                f"embedding matrix only {cfg.vocab_size} rows")
        if cfg.max_position_embeddings < tokenizer.model_max_length:
            tokenizer.model_max_length = cfg.max_position_embeddings
        if model is not None:
            model.eval()
        self.model = model
        self.runner = runner
        self.config = cfg
        self.tokenizer = tokenizer
        self.name = name
        self.version = version
        self.num_layers: int = cfg.num_hidden_layers
        self.hidden_size: int = cfg.hidden_size
        self.max_batch_tokens = max_batch_tokens
        # The length the model was trained and is configured for as a sentence encoder
        # (sentence-transformers' max_seq_length, 256 for all-MiniLM-L6-v2): its sentence
        # embeddings are sentence-transformers' only up to it. Default: the model's positions.
        self.sentence_max_length: int = min(sentence_max_length or tokenizer.model_max_length,
                                            tokenizer.model_max_length)
        self._lock = threading.Lock()  # one forward pass at a time per process: threads are set deliberately
        self.streams = max(1, int(streams)) if runner is not None else 1
        self._pool: ThreadPoolExecutor | None = None

    @property
    def backend(self) -> str:
        return "torch" if self.runner is None else "onnxruntime"

    @classmethod
    def load(cls, folder: str | Path, *, name: str | None = None, version: str = "local",
             tokenizer: WordPieceTokenizer | None = None, backend: Backend = "torch",
             cache_dir: str | Path | None = None, threads: int = 1, max_batch_tokens: int = 8192,
             streams: int = 1, arena: bool = False) -> ContextualEncoder:
        """Any local Hugging Face BERT folder (config.json + weights + tokenizer files). Never downloads.

        ``backend``: ``torch``, or ``onnx`` (ONNX Runtime, fp32; the model file is built from ``folder``
        into ``cache_dir`` on first use, see ``onnx_encoder.build``); ``threads``: the cores it may
        use (torch's or ONNX Runtime's intra-op threads); ``streams`` (ONNX Runtime only): run a
        batch's forward groups on that many threads side by side on the one session (a batch is cut
        into at least that many groups; a lone sentence still gets every intra-op thread)."""
        from transformers import AutoConfig, AutoModel

        folder = Path(folder)
        if not (folder / "config.json").is_file():
            raise ResourceError(f"{folder / 'config.json'}: missing (LEXIFLOW_ENCODER_PATH must be a model folder)")
        if backend not in BACKENDS:
            raise ResourceError(f"unknown encoder backend {backend!r}; choose one of {list(BACKENDS)}")
        tok = tokenizer or WordPieceTokenizer.from_folder(folder, name=name or folder.name, version=version)
        try:
            config = AutoConfig.from_pretrained(folder, local_files_only=True)
            if backend == "torch":
                model = AutoModel.from_pretrained(folder, config=config, local_files_only=True)
                return cls(model, tok, name=name or folder.name, version=version, max_batch_tokens=max_batch_tokens,
                           sentence_max_length=sentence_max_length(folder))
        except (OSError, ValueError) as exc:
            raise ResourceError(f"{folder}: cannot load the encoder ({exc})") from exc
        from pipelines.embeddings import onnx_encoder

        try:
            path = onnx_encoder.build(folder, Path(cache_dir or Path.home() / ".cache" / "lexiflow"))
        except (OSError, RuntimeError, ValueError, ImportError) as exc:
            raise ResourceError(f"{folder}: cannot export the encoder to ONNX ({type(exc).__name__}: {exc}); run "
                                "`lexiflow build-encoder` to see why, or set LEXIFLOW_ENCODER_BACKEND=torch") from exc
        return cls(None, tok, name=name or folder.name, version=version, config=config,
                   max_batch_tokens=max_batch_tokens, sentence_max_length=sentence_max_length(folder),
                   runner=onnx_encoder.OnnxRunner(path, threads=threads, arena=arena), streams=streams)

    def info(self) -> dict[str, object]:
        cfg = self.config
        if self.model is not None:
            params = sum(p.numel() for p in self.model.parameters())
            runtime: dict[str, object] = {"backend": "torch", "torch": torch.__version__}
        else:
            h, inter = cfg.hidden_size, cfg.intermediate_size  # a BERT encoder's parameters, from its config
            params = ((cfg.vocab_size + cfg.max_position_embeddings + cfg.type_vocab_size) * h + 2 * h
                      + cfg.num_hidden_layers * (4 * h * h + 4 * h + 2 * h * inter + inter + h + 4 * h)
                      + h * h + h)
            runtime = self.runner.info() if hasattr(self.runner, "info") else {"backend": "custom"}
            runtime["streams"] = self.streams
        return {"name": self.name, "version": self.version, "architecture": cfg.architectures[0]
                if getattr(cfg, "architectures", None) else type(self.model).__name__,
                "layers": self.num_layers, "hidden_size": self.hidden_size, "parameters": params,
                "max_length": self.tokenizer.model_max_length, "sentence_max_length": self.sentence_max_length,
                **runtime, "transformers": metadata.version("transformers")}

    # ----- forward ----------------------------------------------------------------------------------
    def forward(self, encoded: Sequence[Encoded]) -> list[np.ndarray]:
        """Hidden states for already-encoded sequences: one (L+1, length, H) array each.

        Sequences are sorted by length and grouped so that no forward pass holds more than
        ``max_batch_tokens`` (padded) tokens.
        """
        order = sorted(range(len(encoded)), key=lambda i: encoded[i].length)
        out: list[np.ndarray | None] = [None] * len(encoded)
        groups: list[list[int]] = []
        start = 0
        while start < len(order):
            end = start + 1
            while end < len(order) and encoded[order[end]].length * (end - start + 1) <= self.max_batch_tokens:
                end += 1
            groups.append(order[start:end])
            start = end
        with self._lock:
            if self.streams > 1 and len(encoded) > 1:
                spread = _spread(groups, self.streams)
                results = self._streams().map(lambda g: self._forward_group([encoded[i] for i in g]), spread)
                for group, hidden in zip(spread, results):
                    for i, h in zip(group, hidden):
                        out[i] = h
            else:
                for group in groups:
                    for i, hidden in zip(group, self._forward_group([encoded[i] for i in group])):
                        out[i] = hidden
        return out  # type: ignore[return-value]

    def _streams(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.streams, thread_name_prefix="lexiflow-encoder")
        return self._pool

    def _forward_group(self, group: Sequence[Encoded]) -> list[np.ndarray]:
        width = max(e.length for e in group)
        ids = np.zeros((len(group), width), dtype=np.int64)  # (B, T)
        types = np.zeros_like(ids)
        mask = np.zeros_like(ids)
        for row, e in enumerate(group):
            n = e.length
            ids[row, :n] = e.input_ids[:n]
            types[row, :n] = e.token_type_ids[:n]
            mask[row, :n] = 1
        if self.runner is not None:  # the caller holds self._lock
            stacked = self.runner(ids, mask, types)  # (L+1, B, T, H)
        else:
            with torch.inference_mode():
                out = self.model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask),
                                 token_type_ids=torch.from_numpy(types), output_hidden_states=True)
            stacked = torch.stack(out.hidden_states, dim=0).float().numpy()  # (L+1, B, T, H)
        return [np.ascontiguousarray(stacked[:, row, : e.length], dtype=np.float32) for row, e in enumerate(group)]

    def encode_ids(self, sequences: Sequence[Sequence[int]], *, max_length: int | None = None, truncate: bool = False,
                   forward: Forward | None = None) -> list[TokenStates]:
        """Run the encoder on already-tokenized input (``WordPieceTokenizer.encode_ids``)."""
        encoded = self.tokenizer.encode_ids(sequences, max_length=max_length, truncate=truncate)
        return [TokenStates(e, h) for e, h in zip(encoded, (forward or self.forward)(encoded))]

    def encode(self, texts: Sequence[str], pairs: Sequence[str] | None = None, *, max_length: int | None = None,
               truncation: Truncation = "none", forward: Forward | None = None) -> list[TokenStates]:
        """Tokenize and run the encoder. ``forward`` replaces ``self.forward`` (e.g. a dynamic batcher)."""
        encoded = self.tokenizer.encode(texts, pairs, max_length=max_length, truncation=truncation)
        return [TokenStates(e, h) for e, h in zip(encoded, (forward or self.forward)(encoded))]

    # ----- views ------------------------------------------------------------------------------------
    @staticmethod
    def pool(states: TokenStates, choice: LayerChoice, pooling: Pooling) -> np.ndarray:
        """(H,) for mean/cls; (T, H) for none. Mean runs over the attention mask (specials included,
        as sentence-transformers does)."""
        tokens = choice.select(states.hidden)  # (T, H)
        if pooling == "cls":
            return tokens[0]
        if pooling == "mean":
            return tokens.mean(axis=0)
        return tokens

    @staticmethod
    def word_vectors(states: TokenStates, choice: LayerChoice, texts: tuple[str, str | None]) -> list[WordVector]:
        """A word's vector is the mean of its wordpieces' vectors."""
        tokens = choice.select(states.hidden)
        e = states.encoded
        groups: dict[tuple[int, int], list[int]] = {}
        for i in range(e.length):
            seq, word = e.sequence_ids[i], e.word_ids[i]
            if seq is not None and word is not None and not e.special_tokens_mask[i]:
                groups.setdefault((seq, word), []).append(i)
        out = []
        for (seq, word), pieces in groups.items():
            start, end = e.offsets[pieces[0]][0], e.offsets[pieces[-1]][1]
            text = texts[seq] or ""
            out.append(WordVector(seq, word, text[start:end], start, end, tuple(pieces),
                                  tokens[pieces].mean(axis=0)))
        return out

    def word_features(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]], layers: Sequence[int],
                      *, forward: Forward | None = None) -> list[WordStates]:
        """Hidden states of the given words: for each text, (n, K, H) float32 where a word's vector is
        the mean of the wordpieces overlapping its character span, for the K hidden states ``layers``
        (0 = embeddings). Texts longer than the model are cut (longest_first): ``n`` counts the words
        before the cut (a prefix of ``spans``). A word no wordpiece covers (only characters the
        tokenizer drops) gets a zero vector."""
        if not all(0 <= k <= self.num_layers for k in layers):
            raise InputError(f"layers must be in 0..{self.num_layers}", code="bad-layer", limit=self.num_layers,
                             given=list(layers))
        states = self.encode(texts, max_length=self.tokenizer.model_max_length, truncation="longest_first",
                             forward=forward)
        out = []
        for st, words in zip(states, spans):
            e = st.encoded
            pieces = [i for i in range(e.length) if e.sequence_ids[i] == 0 and not e.special_tokens_mask[i]]
            if not pieces or not len(words):
                out.append(WordStates(np.zeros((0 if not pieces else len(words), len(layers), self.hidden_size),
                                               np.float32)))
                continue
            p_start = np.array([e.offsets[i][0] for i in pieces])  # (P,)
            p_end = np.array([e.offsets[i][1] for i in pieces])  # (P,)
            w = np.asarray(words, dtype=np.int64).reshape(-1, 2)  # (W, 2)
            if e.truncated:  # truncated: keep the words that start before the last wordpiece ends
                w = w[: int((w[:, 0] < p_end.max()).sum())]
            cover = (p_start[None, :] < w[:, 1:2]) & (p_end[None, :] > w[:, 0:1])  # (W, P)
            weights = cover / np.maximum(cover.sum(axis=1, keepdims=True), 1)  # (W, P): mean over pieces
            hidden = st.hidden[list(layers)][:, pieces]  # (K, P, H)
            unk = np.array([e.input_ids[i] == self.tokenizer.unk_id for i in pieces])  # (P,)
            out.append(WordStates(np.einsum("wp,kph->wkh", weights.astype(np.float32), hidden),  # (W, K, H)
                                  int((cover & unk[None, :]).any(axis=1).sum())))
        return out

    def span_vectors(self, texts: Sequence[str], spans: Sequence[tuple[int, int]], *,
                     states: Sequence[TokenStates] | None = None, forward: Forward | None = None) -> np.ndarray:
        """For each text, the mean over the wordpieces overlapping a character span: (N, L+1, H).

        Long texts are cut (longest_first) to the model's length; a span cut away raises InputError.
        """
        if states is None:
            states = self.encode(texts, max_length=self.tokenizer.model_max_length, truncation="longest_first",
                                 forward=forward)
        out = np.zeros((len(texts), self.num_layers + 1, self.hidden_size), dtype=np.float32)
        for n, (st, (s, t)) in enumerate(zip(states, spans)):
            e = st.encoded
            pieces = [i for i in range(e.length) if e.sequence_ids[i] == 0 and e.offsets[i][0] < t
                      and e.offsets[i][1] > s]
            if not pieces:
                raise InputError(f"text {n}: no wordpiece covers characters {s}-{t} (cut by truncation?)",
                                 code="span-not-encoded", given=[s, t], item=n)
            out[n] = st.hidden[:, pieces].mean(axis=1)
        return out


def _spread(groups: list[list[int]], streams: int) -> list[list[int]]:
    """At least ``streams`` groups when there are that many sequences: the largest group is halved
    until then (each stream gets work); the largest first, so that the pool balances."""
    groups = [list(g) for g in groups]
    while len(groups) < streams:
        big = max(range(len(groups)), key=lambda k: len(groups[k]))
        if len(groups[big]) < 2:
            break
        g = groups.pop(big)
        groups += [g[: len(g) // 2], g[len(g) // 2:]]
    return sorted(groups, key=lambda g: -len(g))


def encode_base64(array: np.ndarray) -> str:
    """Little-endian float32 bytes, base64: what OpenAI's `encoding_format: base64` returns."""
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f4").tobytes()).decode("ascii")


def cosine_matrix(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    unit = vectors / np.maximum(norms, 1e-12)
    return np.clip(unit @ unit.T, -1.0, 1.0)


def sentence_max_length(folder: Path) -> int | None:
    """sentence-transformers' ``max_seq_length`` (``sentence_bert_config.json``) of a model folder."""
    path = Path(folder) / "sentence_bert_config.json"
    if not path.is_file():
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8")).get("max_seq_length")
    except ValueError as exc:
        raise ResourceError(f"{path}: not valid JSON ({exc})") from exc
    return value if isinstance(value, int) and value > 0 else None
