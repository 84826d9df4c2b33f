"""An LSTM encoder-decoder with Luong-style attention, plus greedy and beam-search decoding.

Shape letters used in the comments:
    B batch, S source length, T target length, E embedding dim, H hidden size,
    L layers, V target vocabulary, K beam size, N = B * K (flattened beams).

The encoder is an embedding + (bi)LSTM run over packed sequences (lengths clamped to >= 1);
a bidirectional encoder uses ``hidden // 2`` units per direction so that its outputs are
``hidden`` wide and can be compared with decoder states directly ("dot" attention). A
``tanh(Linear)`` bridge maps the encoder's final (h, c) to the decoder's initial state.

The decoder is an embedding + LSTM. At every step the decoder state h_t scores each source
position, a masked softmax (padding gets -inf) turns scores into weights, the context is the
weighted sum of encoder outputs, and the attentional hidden state ``tanh(W_c [c_t; h_t])``
predicts the next token (Luong et al. 2015). With ``input_feeding`` the previous step's attentional
vector is concatenated to the next decoder input (Luong et al. 2015, section 3.3), so the decoder
knows what it already attended to; the decoder then runs one step at a time even under teacher
forcing. Without it, the whole target sequence runs through the LSTM in one call.

``share_embeddings`` uses one embedding table for source and target (a joint subword vocabulary)
and ``tie_output`` makes the output projection that same target table (Press & Wolf 2017), with
a ``Linear(H, E)`` in front of it when the embedding and hidden sizes differ.

``attention="none"`` is the baseline without attention: the decoder is conditioned on the source
only through its initial state, and predicts from ``tanh(W_c h_t)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

ATTENTION_TYPES = ("dot", "general", "additive", "none")
SCORINGS = ("dot", "cosine")


@dataclass
class Seq2SeqConfig:
    format: str = "seq2seq-attn-v2"
    src_vocab_size: int = 8000
    tgt_vocab_size: int = 8000
    embed_dim: int = 256
    hidden: int = 512
    layers: int = 1
    bidirectional: bool = True
    dropout: float = 0.2
    attention: str = "general"
    pad_id: int = 0
    unk_id: int = 1
    bos_id: int = 2
    eos_id: int = 3
    input_feeding: bool = False
    share_embeddings: bool = False
    tie_output: bool = False

    def __post_init__(self) -> None:
        if self.share_embeddings and self.src_vocab_size != self.tgt_vocab_size:
            raise ValueError("share_embeddings needs one vocabulary: src_vocab_size == tgt_vocab_size")
        if self.attention not in ATTENTION_TYPES:
            raise ValueError(f"attention must be one of {ATTENTION_TYPES}, not {self.attention!r}")
        if self.bidirectional and self.hidden % 2:
            raise ValueError(f"a bidirectional encoder needs an even hidden size, not {self.hidden}")
        if min(self.src_vocab_size, self.tgt_vocab_size) <= max(self.pad_id, self.unk_id, self.bos_id, self.eos_id):
            raise ValueError("vocabulary sizes must exceed every special id")
        if self.layers < 1 or self.hidden < 1 or self.embed_dim < 1:
            raise ValueError("layers, hidden and embed_dim must be positive")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), not {self.dropout}")


# ----------------------------------------------------------------------------- attention


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Softmax over the last axis; ``mask`` is True where a position may be attended.

    Masked positions get -inf before the softmax and exactly 0 after it. A row with no valid
    position (an empty source) gets all-zero weights instead of NaN.
    """
    if mask is None:
        return torch.softmax(scores, dim=-1)
    mask = mask.to(torch.bool)
    scores = scores.masked_fill(~mask, float("-inf"))
    empty = ~mask.any(dim=-1, keepdim=True)                       # rows with nothing to attend
    scores = scores.masked_fill(empty, 0.0)                       # keep their softmax finite
    return torch.softmax(scores, dim=-1).masked_fill(~mask, 0.0)


def attention(
    query: torch.Tensor,
    keys: torch.Tensor,
    values: torch.Tensor,
    mask: torch.Tensor | None = None,
    scale: bool = False,
    scoring: str = "dot",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Parameter-free attention: returns ``(scores, weights, context)``.

    query (..., D) or (..., Q, D); keys (..., S, D); values (..., S, Dv); mask (..., S) or
    broadcastable to the scores, True = may attend. ``scoring`` is "dot" (q . k) or "cosine";
    ``scale=True`` divides the scores by sqrt(D) (scaled dot-product attention).
    scores and weights have shape (..., S) for a single query or (..., Q, S); context (..., Dv)
    or (..., Q, Dv).
    """
    if scoring not in SCORINGS:
        raise ValueError(f"scoring must be one of {SCORINGS}, not {scoring!r}")
    query = torch.as_tensor(query, dtype=torch.float32)
    keys = torch.as_tensor(keys, dtype=torch.float32)
    values = torch.as_tensor(values, dtype=torch.float32)
    if keys.shape[-1] != query.shape[-1]:
        raise ValueError(f"query has {query.shape[-1]} dims but keys have {keys.shape[-1]}")
    if keys.shape[-2] != values.shape[-2]:
        raise ValueError(f"{keys.shape[-2]} keys but {values.shape[-2]} values")
    single = query.dim() == keys.dim() - 1
    q = query.unsqueeze(-2) if single else query                 # (..., Q, D)
    k = keys
    if scoring == "cosine":
        q = F.normalize(q, dim=-1)
        k = F.normalize(k, dim=-1)
    scores = q @ k.transpose(-1, -2)                              # (..., Q, S)
    if scale:
        scores = scores / math.sqrt(keys.shape[-1])
    m = None
    if mask is not None:
        m = torch.as_tensor(mask, dtype=torch.bool)
        if single or m.dim() == keys.dim() - 1:
            m = m.unsqueeze(-2)                                   # (..., 1, S)
    weights = masked_softmax(scores, m)                           # (..., Q, S)
    context = weights @ values                                    # (..., Q, Dv)
    if single:
        return scores.squeeze(-2), weights.squeeze(-2), context.squeeze(-2)
    return scores, weights, context


class Attention(nn.Module):
    """Learned Luong/Bahdanau scoring between decoder states and encoder outputs.

    ``prepare_keys`` runs once per source batch (the part of the score that does not depend on
    the decoder), so each decoding step only does the query-dependent work.
    """

    def __init__(self, kind: str, hidden: int) -> None:
        super().__init__()
        if kind not in ("dot", "general", "additive"):
            raise ValueError(f"unknown attention {kind!r}")
        self.kind = kind
        if kind == "general":
            self.w = nn.Linear(hidden, hidden, bias=False)
        elif kind == "additive":
            self.w_keys = nn.Linear(hidden, hidden, bias=False)
            self.w_query = nn.Linear(hidden, hidden, bias=True)
            self.v = nn.Linear(hidden, 1, bias=False)

    def prepare_keys(self, enc_out: torch.Tensor) -> torch.Tensor:
        # enc_out (B, S, H)
        if self.kind == "general":
            return self.w(enc_out)                                # (B, S, H): W k_s, so score = h . W k_s
        if self.kind == "additive":
            return self.w_keys(enc_out)                           # (B, S, H)
        return enc_out                                            # (B, S, H)

    def forward(
        self, query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        # query (B, T, H) decoder states; keys from prepare_keys (B, S, H); values (B, S, H); mask (B, S)
        if self.kind == "additive":
            q = self.w_query(query)                               # (B, T, H)
            scores = self.v(torch.tanh(q.unsqueeze(2) + keys.unsqueeze(1))).squeeze(-1)  # (B, T, S)
        else:
            scores = query @ keys.transpose(1, 2)                 # (B, T, S)
        weights = masked_softmax(scores, mask.unsqueeze(1))       # (B, T, S), zero on padding
        context = weights @ values                                # (B, T, H)
        return context, weights


# ----------------------------------------------------------------------------- model


@dataclass
class DecoderState:
    h: torch.Tensor                 # (L, B, H)
    c: torch.Tensor                 # (L, B, H)
    feed: torch.Tensor | None       # (B, H) previous attentional vector (input feeding), else None

    def __getitem__(self, i: int) -> torch.Tensor:
        return (self.h, self.c)[i]  # state[0] / state[1] as with an LSTM's (h, c)

    def index_select(self, index: torch.Tensor) -> DecoderState:
        """Reorder/repeat along the batch axis (beams)."""
        return DecoderState(self.h.index_select(1, index), self.c.index_select(1, index),
                            None if self.feed is None else self.feed.index_select(0, index))


@dataclass
class EncoderOutput:
    outputs: torch.Tensor           # (B, S, H)
    keys: torch.Tensor | None       # (B, S, H) attention keys, None without attention
    mask: torch.Tensor              # (B, S) True on real tokens
    state: DecoderState             # decoder initial state

    def index_select(self, index: torch.Tensor) -> EncoderOutput:
        """Reorder/repeat along the batch axis (used to expand sentences into beams)."""
        return EncoderOutput(
            self.outputs.index_select(0, index),
            None if self.keys is None else self.keys.index_select(0, index),
            self.mask.index_select(0, index),
            self.state.index_select(index),
        )


class Seq2Seq(nn.Module):
    def __init__(self, config: Seq2SeqConfig) -> None:
        super().__init__()
        self.config = c = config
        H, E, L = c.hidden, c.embed_dim, c.layers
        enc_units = H // 2 if c.bidirectional else H
        self.src_embed = nn.Embedding(c.src_vocab_size, E, padding_idx=c.pad_id)
        self.encoder = nn.LSTM(E, enc_units, num_layers=L, batch_first=True,
                               bidirectional=c.bidirectional, dropout=c.dropout if L > 1 else 0.0)
        self.bridge_h = nn.Linear(H, H)
        self.bridge_c = nn.Linear(H, H)
        self.tgt_embed = (self.src_embed if c.share_embeddings
                          else nn.Embedding(c.tgt_vocab_size, E, padding_idx=c.pad_id))
        dec_in = E + (H if c.input_feeding else 0)
        self.decoder = nn.LSTM(dec_in, H, num_layers=L, batch_first=True, dropout=c.dropout if L > 1 else 0.0)
        self.attn = Attention(c.attention, H) if c.attention != "none" else None
        self.combine = nn.Linear(2 * H if self.attn is not None else H, H)
        self.drop = nn.Dropout(c.dropout)
        if c.tie_output:
            self.out_proj: nn.Module = nn.Linear(H, E, bias=False) if E != H else nn.Identity()
            self.out = nn.Linear(E, c.tgt_vocab_size)
            self.out.weight = self.tgt_embed.weight
        else:
            self.out_proj = nn.Identity()
            self.out = nn.Linear(H, c.tgt_vocab_size)

    def tied_parameters(self) -> dict[str, str]:
        """State-dict keys that are the same tensor as another key (saved once): alias -> saved key."""
        c = self.config
        tied = {}
        if c.share_embeddings:
            tied["tgt_embed.weight"] = "src_embed.weight"
        if c.tie_output:
            tied["out.weight"] = tied.get("tgt_embed.weight", "tgt_embed.weight")
        return tied

    # -- encoder -------------------------------------------------------------------------
    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor) -> EncoderOutput:
        # src (B, S) token ids, right-padded; src_lengths (B,)
        c = self.config
        B, S = src.shape
        lengths = src_lengths.to("cpu", torch.int64).clamp(min=1, max=max(S, 1))
        mask = torch.arange(S, device=src.device)[None, :] < src_lengths.to(src.device)[:, None]  # (B, S)
        x = self.drop(self.src_embed(src))                        # (B, S, E)
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, (h_n, c_n) = self.encoder(packed)                    # h_n, c_n (L * D, B, H / D)
        outputs, _ = pad_packed_sequence(out, batch_first=True, total_length=S)  # (B, S, H)
        D = 2 if c.bidirectional else 1
        h_n = h_n.view(c.layers, D, B, -1).permute(0, 2, 1, 3).reshape(c.layers, B, c.hidden)  # (L, B, H)
        c_n = c_n.view(c.layers, D, B, -1).permute(0, 2, 1, 3).reshape(c.layers, B, c.hidden)  # (L, B, H)
        feed = outputs.new_zeros(B, c.hidden) if c.input_feeding else None  # (B, H)
        state = DecoderState(torch.tanh(self.bridge_h(h_n)), torch.tanh(self.bridge_c(c_n)), feed)  # (L, B, H)
        keys = self.attn.prepare_keys(outputs) if self.attn is not None else None  # (B, S, H)
        return EncoderOutput(outputs, keys, mask, state)

    # -- decoder -------------------------------------------------------------------------
    def _attend(self, h: torch.Tensor, enc: EncoderOutput) -> tuple[torch.Tensor, torch.Tensor | None]:
        # h (B, T, H) decoder states -> attentional states (B, T, H), weights (B, T, S) or None
        weights = None
        if self.attn is not None:
            context, weights = self.attn(h, enc.keys, enc.outputs, enc.mask)  # (B, T, H), (B, T, S)
            h = torch.cat([context, h], dim=-1)                   # (B, T, 2H)
        return torch.tanh(self.combine(h)), weights               # (B, T, H)

    def decode(
        self, tgt_in: torch.Tensor, enc: EncoderOutput, state: DecoderState | None = None,
        select: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None, DecoderState]:
        """Run the decoder over given input tokens (teacher forcing, or one step at a time).

        ``select`` (B, T) bool keeps only those positions' logits, (N, V): training skips padding."""
        # tgt_in (B, T) previous tokens, starting with <bos>
        state = state if state is not None else enc.state
        y = self.drop(self.tgt_embed(tgt_in))                     # (B, T, E)
        if not self.config.input_feeding:
            h, (h_n, c_n) = self.decoder(y, (state.h, state.c))  # h (B, T, H)
            attn_h, weights = self._attend(h, enc)                # (B, T, H), (B, T, S)
            new_state = DecoderState(h_n, c_n, None)
        else:
            hc, feed = (state.h, state.c), state.feed             # feed (B, H)
            outs, rows = [], []
            for t in range(y.shape[1]):
                x = torch.cat([y[:, t:t + 1], feed.unsqueeze(1)], dim=-1)  # (B, 1, E + H)
                h, hc = self.decoder(x, hc)                       # (B, 1, H)
                a, w = self._attend(h, enc)                       # (B, 1, H), (B, 1, S)
                feed = a.squeeze(1)                               # (B, H)
                outs.append(a)
                if w is not None:
                    rows.append(w)
            attn_h = torch.cat(outs, 1)                           # (B, T, H)
            weights = torch.cat(rows, 1) if rows else None        # (B, T, S)
            new_state = DecoderState(hc[0], hc[1], feed)
        if select is not None:
            attn_h = attn_h[select]                               # (N, H)
        logits = self.out(self.out_proj(self.drop(attn_h)))      # (B, T, V) or (N, V)
        return logits, weights, new_state

    def forward(
        self,
        src: torch.Tensor,
        src_lengths: torch.Tensor,
        tgt_in: torch.Tensor,
        *,
        teacher_forcing: float = 1.0,
        generator: torch.Generator | None = None,
        select: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Training forward: logits (B, T, V) and attention weights (B, T, S) (None without attention).

        With ``teacher_forcing < 1`` each step's input is, with probability ``1 - teacher_forcing``
        per sentence, the model's own previous prediction instead of the gold token.
        """
        enc = self.encode(src, src_lengths)
        if teacher_forcing >= 1.0:
            logits, weights, _ = self.decode(tgt_in, enc, select=select)  # (B, T, V) or (N, V), (B, T, S)
            return logits, weights
        B, T = tgt_in.shape
        state = enc.state
        inp = tgt_in[:, :1]                                       # (B, 1)
        all_logits, all_weights = [], []
        for t in range(T):
            logits, weights, state = self.decode(inp, enc, state)  # (B, 1, V), (B, 1, S)
            all_logits.append(logits)
            if weights is not None:
                all_weights.append(weights)
            if t + 1 < T:
                use_gold = torch.rand(B, 1, generator=generator, device=tgt_in.device) < teacher_forcing
                inp = torch.where(use_gold, tgt_in[:, t + 1:t + 2], logits.argmax(-1).detach())  # (B, 1)
        return torch.cat(all_logits, 1), (torch.cat(all_weights, 1) if all_weights else None)

    def step(
        self, prev: torch.Tensor, enc: EncoderOutput, state: DecoderState
    ) -> tuple[torch.Tensor, torch.Tensor, DecoderState]:
        """One decoding step: log-probs (N, V), attention (N, S) (zeros without attention), new state."""
        # prev (N,) the previous token of each hypothesis
        logits, weights, state = self.decode(prev.unsqueeze(1), enc, state)  # (N, 1, V), (N, 1, S)
        logp = torch.log_softmax(logits.squeeze(1).float(), dim=-1)           # (N, V)
        if weights is None:
            weights = torch.zeros(prev.shape[0], 1, enc.mask.shape[1], device=prev.device)
        return logp, weights.squeeze(1), state


# ----------------------------------------------------------------------------- decoding


@dataclass(frozen=True)
class Hypothesis:
    tokens: list[int]               # target ids, without <bos>/<eos>
    score: float                    # sum of token log-probabilities (including <eos> when finished)
    normalized_score: float         # score / length penalty + coverage penalty (what beam search ranks by)
    attention: list[list[float]]    # one row per token in ``tokens``, over the source tokens
    finished: bool                  # ended with <eos> (False: stopped at max_length)


def length_penalty_gnmt(length: int, alpha: float) -> float:
    """GNMT length penalty (Wu et al. 2016): ((5 + |Y|) / 6) ** alpha; alpha=0 ranks by raw log-prob."""
    return ((5.0 + length) / 6.0) ** alpha


def coverage_penalty_gnmt(attn: torch.Tensor, beta: float) -> float:
    """GNMT coverage penalty: beta * sum_i log(min(sum_j p_ij, 1)) over source positions i, where
    p_ij is the attention of output step j on source position i; 0 when every source position got
    a total attention of at least 1, negative when some were (nearly) skipped. attn (T, S)."""
    if beta == 0.0 or attn.numel() == 0:
        return 0.0
    total = attn.sum(0).clamp(min=1e-4, max=1.0)                  # (S,)
    return beta * float(total.log().sum())


def banned_ids(config: Seq2SeqConfig) -> list[int]:
    """Ids a decoder never emits: <pad>, <unk> and <bos> (an output never contains <unk>)."""
    return sorted({config.pad_id, config.unk_id, config.bos_id} - {config.eos_id})


def block_repeats(logp: torch.Tensor, history: list[list[int]], n: int) -> None:
    """In place: forbid every token that would repeat an n-gram already in its row's history.
    logp (N, V); history[r] the tokens generated so far by row r."""
    if n <= 0:
        return
    for r, seq in enumerate(history):
        if len(seq) < n - 1:
            continue
        prefix = seq[len(seq) - n + 1:] if n > 1 else []
        banned = [seq[i + n - 1] for i in range(len(seq) - n + 1) if seq[i:i + n - 1] == prefix]
        if banned:
            logp[r, banned] = float("-inf")


def default_max_length(src_len: int) -> int:
    return int(src_len * 2 + 10)


def _hyp(tokens: list[int], score: float, attn: torch.Tensor, src_len: int, finished: bool, alpha: float,
         beta: float = 0.0) -> Hypothesis:
    # tokens: generated ids (without eos); attn (T', S) rows for the tokens (and eos when finished)
    n = len(tokens) + (1 if finished else 0)
    rows = attn[: len(tokens), :src_len].tolist()
    cp = coverage_penalty_gnmt(attn[:n, :src_len], beta)
    return Hypothesis(tokens, score, score / length_penalty_gnmt(n, alpha) + cp, rows, finished)


@torch.no_grad()
def greedy_decode(
    model: Seq2Seq, src: torch.Tensor, src_lengths: torch.Tensor, *, max_length: int | None = None,
    no_repeat_ngram: int = 0,
) -> list[Hypothesis]:
    """Batched greedy decoding; each sentence stops at <eos> or after ``max_length`` tokens.
    ``no_repeat_ngram`` > 0 forbids repeating any n-gram of that size."""
    c = model.config
    B, S = src.shape
    enc = model.encode(src, src_lengths)
    limit = max_length if max_length is not None else default_max_length(S)
    prev = torch.full((B,), c.bos_id, dtype=torch.long, device=src.device)
    banned = banned_ids(c)
    state = enc.state
    done = torch.zeros(B, dtype=torch.bool, device=src.device)
    scores = torch.zeros(B, device=src.device)
    toks, attns = [], []
    hist: list[list[int]] = [[] for _ in range(B)]
    for _ in range(limit):
        logp, weights, state = model.step(prev, enc, state)      # (B, V), (B, S)
        logp[:, banned] = float("-inf")
        block_repeats(logp, hist, no_repeat_ngram)
        lp, nxt = logp.max(dim=-1)                                # (B,), (B,)
        scores = scores + torch.where(done, torch.zeros_like(lp), lp)
        nxt = torch.where(done, torch.full_like(nxt, c.pad_id), nxt)
        toks.append(nxt)
        attns.append(weights)
        done = done | (nxt == c.eos_id)
        prev = nxt
        if no_repeat_ngram:
            for b, t in enumerate(nxt.tolist()):
                hist[b].append(t)
        if bool(done.all()):
            break
    tok_mat = torch.stack(toks, 1).tolist()                       # (B, T)
    attn_mat = torch.stack(attns, 1)                              # (B, T, S)
    out = []
    for b in range(B):
        seq = tok_mat[b]
        finished = c.eos_id in seq
        seq = seq[: seq.index(c.eos_id)] if finished else seq
        out.append(_hyp(seq, float(scores[b]), attn_mat[b], int(src_lengths[b]), finished, 0.0))
    return out


@torch.no_grad()
def beam_search(
    model: Seq2Seq,
    src: torch.Tensor,
    src_lengths: torch.Tensor,
    *,
    beam_size: int = 5,
    length_penalty: float = 1.0,
    coverage_penalty: float = 0.0,
    no_repeat_ngram: int = 0,
    max_length: int | None = None,
) -> list[Hypothesis]:
    """Batched beam search, all sentences' beams in one (B * K) batch.

    Each step takes the top 2K continuations of every sentence (by summed log-probability);
    those ending in <eos> among the top K ranks become finished hypotheses, and the best K that do
    not end in <eos> stay on the beam. A sentence is done once it has K finished hypotheses (or at
    ``max_length``, when its live beams are added unfinished). The winner maximises the GNMT score
    (Wu et al. 2016) ``sum log p / ((5 + |Y|) / 6) ** length_penalty + coverage penalty`` (|Y|
    counts <eos>; see ``coverage_penalty_gnmt``; both 0 = raw log-prob). ``no_repeat_ngram`` > 0
    forbids any hypothesis to repeat an n-gram of that size. With ``beam_size=1`` and no penalties
    this is exactly greedy decoding.
    """
    if beam_size < 1:
        raise ValueError("beam_size must be >= 1")
    c = model.config
    B, S = src.shape
    K = beam_size
    dev = src.device
    limit = max_length if max_length is not None else default_max_length(S)
    enc = model.encode(src, src_lengths).index_select(torch.arange(B, device=dev).repeat_interleave(K))  # N = B*K
    banned = banned_ids(c)
    state = enc.state
    beam_scores = torch.full((B, K), float("-inf"), device=dev)
    beam_scores[:, 0] = 0.0                                       # only the first beam is live at the start
    prev = torch.full((B * K,), c.bos_id, dtype=torch.long, device=dev)
    hist = torch.zeros(B * K, 0, dtype=torch.long, device=dev)   # (N, t) generated tokens
    attn_hist = torch.zeros(B * K, 0, S, device=dev)             # (N, t, S)
    finished: list[list[Hypothesis]] = [[] for _ in range(B)]
    done = [False] * B
    src_lens = src_lengths.tolist()
    base = (torch.arange(B, device=dev) * K)[:, None]             # (B, 1) offset of each sentence's beams

    for _ in range(limit):
        logp, weights, state = model.step(prev, enc, state)      # (N, V), (N, S)
        logp[:, banned] = float("-inf")
        if no_repeat_ngram:
            block_repeats(logp, hist.tolist(), no_repeat_ngram)
        V = logp.shape[-1]
        cand = beam_scores.view(B, K, 1) + logp.view(B, K, V)    # (B, K, V)
        n_cand = min(2 * K, K * V)
        top_scores, top_idx = cand.view(B, K * V).topk(n_cand, dim=-1)  # (B, 2K)
        top_beam = torch.div(top_idx, V, rounding_mode="floor")  # (B, 2K)
        top_tok = top_idx % V                                     # (B, 2K)
        is_eos = top_tok == c.eos_id                              # (B, 2K)
        attn_now = torch.cat([attn_hist, weights.unsqueeze(1)], 1)  # (N, t+1, S)

        eos_hits = (is_eos[:, :K] & torch.isfinite(top_scores[:, :K])).nonzero().tolist()
        for b, j in eos_hits:
            if done[b] or len(finished[b]) >= K:
                continue
            row = int(base[b, 0] + top_beam[b, j])
            finished[b].append(_hyp(hist[row].tolist(), float(top_scores[b, j]), attn_now[row],
                                    src_lens[b], True, length_penalty, coverage_penalty))
        for b in range(B):
            if not done[b] and len(finished[b]) >= K:
                done[b] = True
        if all(done):
            break

        # keep the best K candidates that do not end in <eos>
        rank = torch.arange(n_cand, device=dev).expand(B, n_cand).float()
        rank = rank.masked_fill(is_eos, float("inf"))
        keep = rank.topk(K, dim=-1, largest=False).indices        # (B, K) positions into the 2K candidates
        beam_scores = top_scores.gather(1, keep)                  # (B, K)
        rows = (base + top_beam.gather(1, keep)).view(-1)         # (N,) source beam of each new beam
        prev = top_tok.gather(1, keep).view(-1)                   # (N,)
        hist = torch.cat([hist.index_select(0, rows), prev.unsqueeze(1)], 1)  # (N, t+1)
        attn_hist = attn_now.index_select(0, rows)                # (N, t+1, S)
        state = state.index_select(rows)

    for b in range(B):
        if not done[b]:
            for k in range(K):
                score = float(beam_scores[b, k])
                if math.isfinite(score):
                    row = b * K + k
                    finished[b].append(_hyp(hist[row].tolist(), score, attn_hist[row], src_lens[b], False,
                                            length_penalty, coverage_penalty))
    out = []
    for b in range(B):
        if not finished[b]:
            out.append(Hypothesis([], float("-inf"), float("-inf"), [], False))
            continue
        out.append(max(finished[b], key=lambda h: h.normalized_score))
    return out
