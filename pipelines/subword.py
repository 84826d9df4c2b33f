"""The subword vocabulary of the translation model: a byte-level BPE (``tokenizers``), one joint
vocabulary for English and Spanish so that names, numbers and rare words are shared pieces the
model can copy.

Byte-level BPE (GPT-2 / RoBERTa style) covers every input: any character is at worst a few byte
pieces, so no input is ever unknown and ``<unk>`` is never produced. Case is kept on both sides.
Text is normalised before splitting (Unicode NFC, curly apostrophes to ``'``, runs of white space
to one space, trimmed); offsets still point into the caller's original text. Decoding restores the
normalised text exactly: ``decode(encode(t).ids) == normalise(t)``.

Written by ``training/seq2seq.py`` (``train_subword``), read by ``pipelines/translate.py``; the
JSON file travels inside the translation artifact (``models/seq2seq_artifact.py``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS = (PAD, UNK, BOS, EOS)  # ids 0, 1, 2, 3
WORD_START = "\u2581"            # "▁" marks a piece that starts after a space (display only)

_APOSTROPHES = ("\u2019", "\u2018", "\u02bc")


def _normalizer() -> normalizers.Normalizer:
    steps = [normalizers.NFC()]
    steps += [normalizers.Replace(a, "'") for a in _APOSTROPHES]
    steps += [normalizers.Replace(Regex(r"\s+"), " "), normalizers.Strip()]
    return normalizers.Sequence(steps)


def normalise(text: str) -> str:
    """What the tokenizer's normaliser does, in plain Python (for tests and references)."""
    text = unicodedata.normalize("NFC", text)
    for a in _APOSTROPHES:
        text = text.replace(a, "'")
    return " ".join(text.split())


@dataclass(frozen=True)
class Encoded:
    ids: list[int]
    offsets: list[tuple[int, int]]   # character offsets of each piece into the original text


class Subword:
    """A trained byte-level BPE with the four specials at ids 0-3."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer
        ids = [tokenizer.token_to_id(t) for t in SPECIALS]
        if ids != [0, 1, 2, 3]:
            raise ValueError(f"the subword vocabulary must have {SPECIALS} at ids 0-3, found ids {ids}")
        self.pad_id, self.unk_id, self.bos_id, self.eos_id = ids
        self._specials = set(ids)

    @classmethod
    def from_str(cls, text: str) -> Subword:
        return cls(Tokenizer.from_str(text))

    @classmethod
    def from_file(cls, path: str) -> Subword:
        return cls(Tokenizer.from_file(path))

    def to_str(self) -> str:
        return self.tokenizer.to_str()

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size(with_added_tokens=True)

    def encode_batch(self, texts: Sequence[str]) -> list[Encoded]:
        encs = self.tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [Encoded(list(e.ids), [tuple(o) for o in e.offsets]) for e in encs]

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def decode(self, ids: Sequence[int]) -> str:
        """The text of a piece sequence (special ids are skipped); exact inverse of ``encode``."""
        text = self.tokenizer.decode([i for i in ids if i not in self._specials], skip_special_tokens=True)
        return text[1:] if text.startswith(" ") else text  # the prefix space the pre-tokenizer added

    def piece_texts(self, ids: Sequence[int]) -> list[str]:
        """Each piece's own text (a leading space kept); a piece holding part of a multi-byte
        character shows U+FFFD."""
        return [self.tokenizer.decoder.decode([self.tokenizer.id_to_token(i)]) for i in ids]

    def display(self, ids: Sequence[int]) -> list[str]:
        """Readable pieces: a leading space becomes "▁" (the SentencePiece convention)."""
        return [WORD_START + t[1:] if t.startswith(" ") else t for t in self.piece_texts(ids)]


def _kind(ch: str) -> str:
    return "w" if ch.isalnum() or ch == "\ufffd" else "p"


def word_groups(piece_texts: Sequence[str]) -> list[list[int]]:
    """Group piece indices into words: a word starts at a piece after a space, and where the text
    switches between word characters (letters, digits) and punctuation, so "¿Dónde" is two words
    and "Tom's" is "Tom" + "'s"."""
    groups: list[list[int]] = []
    prev = ""
    for i, t in enumerate(piece_texts):
        core = t.lstrip(" ")
        if not groups or t.startswith(" ") or (core and prev and _kind(core[0]) != _kind(prev[-1])):
            groups.append([i])
        else:
            groups[-1].append(i)
        prev = core
    return groups


def new_tokenizer() -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.normalizer = _normalizer()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    return tok


def train_subword(texts: Iterable[str], *, vocab_size: int, min_frequency: int = 2) -> Subword:
    """Train a byte-level BPE on ``texts`` (both languages for a joint vocabulary)."""
    tok = new_tokenizer()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=list(SPECIALS),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    return Subword(tok)
