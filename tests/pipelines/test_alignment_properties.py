"""Property-based tests of the WordPiece and spaCy alignments on arbitrary Unicode text (hypothesis).

The shipped models: BERT uncased WordPiece (the MiniLM vocabulary) and the spaCy pipelines of
both lemmatizer engines. Texts mix arbitrary code points (every category except lone surrogates,
which the service refuses at its edge and which cannot be encoded to UTF-8) with the characters
that break tokenizers: control characters, zero-width and bidi marks, combining marks, emoji
sequences, right-to-left scripts, CJK and Hangul, case mappings that change length, special-token
strings typed as text, words over WordPiece's 100-character limit.

What "the token matches its text" means here. The BERT uncased normalizer (``fold`` below, the
tokenizer's own) removes control and format characters (NUL, U+FFFD, categories Cc/Cf/Co/Cn, except
tab/newline/CR), turns every whitespace into a space, puts spaces around CJK ideographs, and
lowercases and strips accents (NFD, then drops the combining marks). WordPiece then splits the
normalized words into pieces whose offsets point back into the original text. So, per word
(the pieces sharing a ``word_ids`` value):

* the pieces without their ``##`` prefix, concatenated, equal ``fold(text[word_start:word_end])``
  with its spaces removed (a Hangul syllable becomes several jamo pieces that all point at the one
  syllable, so the comparison is per word, and per piece only "contained in");
* a word the vocabulary cannot spell is one ``[UNK]`` piece spanning the whole word;
* a special-token string typed in the text (``[SEP]``) is that token, with ``text[start:end]`` its
  exact spelling, unless ``split_special_tokens`` asks for it to be read as text.

The spaCy alignment is a relation, not a partition: each spaCy token lists every wordpiece that
overlaps it. A wordpiece lies in one spaCy token (listed once) or straddles a spaCy boundary
(``don't`` is spaCy ``do`` + ``n't`` but WordPiece ``don`` + ``'`` + ``t``: ``don`` is listed by
both). So the properties are: every wordpiece of the text is listed at least once; it is listed
exactly by the non-space spaCy tokens it overlaps; exactly once when it straddles no boundary.
"""

from __future__ import annotations

import unicodedata

import pytest

pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from pipelines import InputError, Lemmatizer, WordPieceTokenizer  # noqa: E402
from pipelines.loading import default_encoder_path  # noqa: E402

SETTINGS = settings(max_examples=120, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

SPECIALS = [
    "\x00", "\x01", "\x1f", "\x7f", "\x85", "\x9f", "\t", "\n", "\r", "\r\n", " ", "  ",  # controls, spaces
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad",  # zero-width, soft hyphen
    "\u200e", "\u200f", "\u202a", "\u202e", "\u2066", "\u2069",  # bidi marks and overrides
    "\u0301", "\u0308", "\u0327", "\u20dd", "\u0e31",  # combining marks
    "\u00a0", "\u1680", "\u2007", "\u2028", "\u2029", "\u3000", "\u180e",  # other spaces and separators
    "\ufffd", "\ue000", "\U000f0000", "\u0378",  # replacement, private use, unassigned
    "👩\u200d👩\u200d👧", "🇫🇷", "👍🏽", "❤️", "1️⃣", "🏳️\u200d🌈",  # emoji sequences
    "שָׁלוֹם", "مَرْحَبًا", "עברית123", "\u0627\u0644\u200f",  # right-to-left with marks and digits
    "中文字", "日本語の", "한국어", "ｆｕｌｌ", "ﾊﾝｶｸ",  # CJK, Hangul, full and half width
    "İstanbul", "ß", "ẞ", "ﬁ", "ǅ", "Ⅻ", "²", "ℌ", "ΣΑΣ", "ǰ", "ŉ", "İ̇",  # case mappings, compatibility
    "नमस्ते", "ผู้", "Ǎ̧̈",  # Devanagari virama, Thai marks, stacked marks
    "don't", "U.S.A.", "e-mail", "$3.50", "C++", "#hash", "@you", "http://x.y/z?a=1",
    "[SEP]", "[CLS]", "[UNK]", "[PAD]", "[MASK]", "##", "##ing",  # special-token strings typed as text
    "a" * 101, "é" * 100 + "x",  # longer than WordPiece's 100 characters per word
]
WORDS = ["The", "bank", "river", "unbelievably", "snorkeling", "Kids", "were", "playing", ".", ",", "?", "!"]

_any_char = st.characters(exclude_categories=["Cs"])
texts = st.lists(
    st.one_of(st.sampled_from(SPECIALS), st.sampled_from(WORDS), st.text(_any_char, max_size=6)),
    max_size=10,
).map("".join)


@pytest.fixture(scope="module")
def tokenizer() -> WordPieceTokenizer:
    return WordPieceTokenizer.from_folder(default_encoder_path())


@pytest.fixture(scope="module", params=["rule", "lookup"])
def lemmatizer(request) -> Lemmatizer:  # noqa: ANN001
    return Lemmatizer.load(request.param)


@pytest.fixture(scope="module")
def rule_lemmatizer() -> Lemmatizer:
    return Lemmatizer.load("rule")


def folder(tokenizer: WordPieceTokenizer):  # noqa: ANN201 - a str -> str function
    """The tokenizer's own BERT uncased normalizer."""
    normalizer = tokenizer._tok.normalizer  # noqa: SLF001 - the tokenizer under test, read only
    assert normalizer is not None
    return normalizer.normalize_str


def _encode(tokenizer: WordPieceTokenizer, text: str, pair: str | None, **kw):  # noqa: ANN003, ANN202
    try:
        return tokenizer.encode([text], None if pair is None else [pair], **kw)[0]
    except InputError as exc:  # 4 pieces per character at worst: rare, and a refusal is not a crash
        assume(exc.code != "too-many-tokens")
        raise


def _positions(e, seq: int) -> list[int]:  # noqa: ANN001
    return [i for i, s in enumerate(e.sequence_ids) if s == seq]


# ----- WordPiece ----------------------------------------------------------------------------------
@SETTINGS
@given(text=texts, pair=st.none() | texts, split_special=st.booleans())
def test_wordpiece_offsets_match_the_text(tokenizer, text, pair, split_special):
    e = _encode(tokenizer, text, pair, split_special_tokens=split_special)
    fold = folder(tokenizer)
    specials = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}
    n = len(e.input_ids)

    # Shapes, and the template's special tokens: [CLS] A [SEP] (B [SEP]).
    assert e.length == n and not e.truncated
    for field in (e.tokens, e.token_type_ids, e.attention_mask, e.special_tokens_mask, e.offsets,
                  e.sequence_ids, e.word_ids):
        assert len(field) == n
    assert e.position_ids == list(range(n)) and e.attention_mask == [1] * n
    assert [t for t, m in zip(e.tokens, e.special_tokens_mask) if m] == (["[CLS]", "[SEP]"] + ["[SEP]"] * (pair is not None))
    for i in range(n):
        assert (e.special_tokens_mask[i] == 1) == (e.sequence_ids[i] is None)
        if e.sequence_ids[i] is None:
            assert e.offsets[i] == (0, 0) and e.word_ids[i] is None
        else:
            assert e.token_type_ids[i] == e.sequence_ids[i]
    assert e.sequence_ids[0] is None and e.sequence_ids[-1] is None

    for seq, t in enumerate((text, pair)):
        pos = _positions(e, seq)
        if t is None:
            assert not pos
            continue
        offs = [e.offsets[i] for i in pos]
        # Offsets inside the text, non-decreasing.
        assert all(0 <= s <= end <= len(t) for s, end in offs), (t, offs)
        assert [s for s, _ in offs] == sorted(s for s, _ in offs)
        assert [end for _, end in offs] == sorted(end for _, end in offs)
        # word_ids: 0, 1, 2, ... in order, each word's pieces contiguous, words do not overlap.
        wids = [e.word_ids[i] for i in pos]
        assert all(w is not None for w in wids)
        if wids:
            assert wids[0] == 0 and all(b - a in (0, 1) for a, b in zip(wids, wids[1:])), wids
        words: dict[int, list[int]] = {}
        for i in pos:
            words.setdefault(e.word_ids[i], []).append(i)
        spans = {w: (e.offsets[p[0]][0], e.offsets[p[-1]][1]) for w, p in words.items()}
        for w in range(1, len(words)):
            assert spans[w - 1][1] <= spans[w][0], (t, spans)
        for w, pieces in words.items():
            ws, we = spans[w]
            toks = [e.tokens[i] for i in pieces]
            raw = t[ws:we]
            assert we > ws and raw.strip() == raw, (t, toks, raw)
            if len(pieces) == 1 and toks[0] in specials and raw == toks[0]:
                assert not split_special  # a typed special token, kept as that token
                continue
            if toks == ["[UNK]"]:
                assert "".join(fold(raw).split()), (t, raw)  # an unknown word is not empty
                continue
            assert "[UNK]" not in toks, toks  # [UNK] only ever stands for a whole word
            assert not toks[0].startswith("##") and all(p.startswith("##") for p in toks[1:]), toks
            assert "".join(p.removeprefix("##") for p in toks) == "".join(fold(raw).split()), (t, toks, raw)
            for i in pieces:
                s, end = e.offsets[i]
                assert e.tokens[i].removeprefix("##") in fold(t[s:end]), (t, e.tokens[i], t[s:end])
        # Nothing lost: every character the normalizer keeps is inside some piece.
        for k, ch in enumerate(t):
            if fold(ch).strip():
                assert any(s <= k < end for s, end in offs), (t, k, ch, offs)
        # Unknowns point at their original characters.
        for u in e.unknown:
            if u.sequence == seq:
                assert e.tokens[u.index] == "[UNK]" and u.text == t[u.start:u.end]


@SETTINGS
@given(text=texts, pair=st.none() | texts)
def test_spacy_alignment_covers_every_wordpiece(tokenizer, rule_lemmatizer, text, pair):
    words_a = rule_lemmatizer.words([text])[0]
    words_b = rule_lemmatizer.words([pair])[0] if pair is not None else None
    e = _encode(tokenizer, text, pair, words=[(words_a, words_b)], split_special_tokens=True)
    assert e.alignment is not None
    assert [(a.sequence, a.text, a.start, a.end) for a in e.alignment] == (
        [(0, w.text, w.start, w.end) for w in words_a] + [(1, w.text, w.start, w.end) for w in words_b or []])
    listed: dict[int, int] = {}
    for a in e.alignment:
        assert list(a.wordpieces) == sorted(set(a.wordpieces))
        for p in a.wordpieces:
            listed[p] = listed.get(p, 0) + 1
    for seq, spans in enumerate((words_a, words_b)):
        if spans is None:
            continue
        entries = [a for a in e.alignment if a.sequence == seq]
        for p in _positions(e, seq):
            s, end = e.offsets[p]
            overlapping = [a for a, w in zip(entries, spans) if not w.is_space and s < w.end and end > w.start]
            # Listed by exactly the non-space spaCy tokens it overlaps, and by at least one.
            assert [a for a in entries if p in a.wordpieces] == overlapping, (p, e.tokens[p], (s, end), entries)
            assert listed.get(p, 0) >= 1, (p, e.tokens[p], (s, end), spans)
            if len(overlapping) == 1 or all(w.start <= s and end <= w.end for w in spans if s < w.end and end > w.start):
                assert listed[p] == 1
    # Pieces of the other sequence, and special tokens, are never listed.
    specials = {i for i, seq in enumerate(e.sequence_ids) if seq is None}
    assert not specials & set(listed)


def test_a_wordpiece_straddling_spacy_tokens_is_listed_by_both(tokenizer, rule_lemmatizer):
    text = "Don't stop."
    e = tokenizer.encode([text], words=[(rule_lemmatizer.words([text])[0], None)])[0]
    by_word = {a.text: [e.tokens[p] for p in a.wordpieces] for a in e.alignment}
    assert by_word == {"Do": ["don"], "n't": ["don", "'", "t"], "stop": ["stop"], ".": ["."]}


# ----- the lemmatizer ------------------------------------------------------------------------------
@SETTINGS
@given(text=texts)
def test_lemmatizer_tokens_tile_the_text(lemmatizer, text):
    [doc] = lemmatizer.lemmatize([text])
    assert "".join(tok.text + tok.whitespace for tok in doc.tokens) == text
    at = 0
    for tok in doc.tokens:
        assert tok.start == at and tok.end == tok.start + len(tok.text) and text[tok.start:tok.end] == tok.text
        assert tok.whitespace in ("", " ") and tok.text
        at = tok.end + len(tok.whitespace)
        assert isinstance(tok.lemma, str)
        assert 0 <= tok.sentence < len(doc.sentences)
    assert at == len(text)
    assert [t.sentence for t in doc.tokens] == sorted(t.sentence for t in doc.tokens)
    for k, sent in enumerate(doc.sentences):
        assert 0 <= sent.start <= sent.end <= len(text) and text[sent.start:sent.end] == sent.text
        members = [t for t in doc.tokens if t.sentence == k]
        assert members, (k, doc.sentences)
        assert sent.start == members[0].start and sent.end == members[-1].end
    if doc.tokens:
        assert [s.start for s in doc.sentences] == sorted(s.start for s in doc.sentences)


@SETTINGS
@given(batch=st.lists(texts, min_size=1, max_size=4))
def test_spacy_words_match_the_lemmatizer_tokens(rule_lemmatizer, batch):
    """The words used for alignment are the lemmatizer's tokens (the same spaCy tokenizer)."""
    words = rule_lemmatizer.words(batch)
    docs = rule_lemmatizer.lemmatize(batch)
    for text, ws, doc in zip(batch, words, docs):
        assert [(w.text, w.start, w.end, w.is_space) for w in ws] == [
            (t.text, t.start, t.end, t.is_space) for t in doc.tokens]
        assert all(text[w.start:w.end] == w.text for w in ws)


def test_strategy_reaches_the_hard_characters():
    """The sampled characters really are the categories named in the docstring."""
    cats = {unicodedata.category(ch) for s in SPECIALS for ch in s}
    assert {"Cc", "Cf", "Mn", "Me", "Zs", "Zl", "Zp", "Co", "Cn", "Lo", "Nl", "No"} <= cats
