// Tokens panel: POST v1/lemmatize and v1/tokenize (align_with spaCy), shown together.

import { h } from "./dom.js";
import { post, onSubmit } from "./api.js";

const SEGMENT = ["a", "b"];
const SEGMENT_NAME = ["A", "B"];

function pieceChip(result, i, { compact = false } = {}) {
  const seg = SEGMENT[result.token_type_ids[i]] || "a";
  const special = result.special_tokens_mask[i] === 1;
  const unk = result.unknown.find((u) => u.index === i);
  const classes = ["piece", `seg-${seg}`, special ? "special" : "", unk ? "unk" : ""].filter(Boolean).join(" ");
  const title = `${result.tokens[i]}: segment ${SEGMENT_NAME[result.token_type_ids[i]] || "A"}, position ${result.position_ids[i]}, `
    + `id ${result.input_ids[i]}${special ? ", special token" : ""}${unk ? `, unknown: “${unk.text}”` : ""}`;
  return h("li", { class: classes, title, "data-index": i },
    h("span", { class: "p-text" }, result.tokens[i]),
    compact
      ? h("span", { class: "p-meta" }, h("span", { class: "p-pos" }, String(result.position_ids[i])))
      : h("span", { class: "p-meta" }, h("span", { class: "p-pos" }, `pos ${result.position_ids[i]}`),
          ` · id ${result.input_ids[i]}`));
}

function cutChip(cut, { compact = false } = {}) {
  const seg = SEGMENT[cut.sequence] || "a";
  return h("li", { class: `piece seg-${seg} cut`, title: `${cut.token}: cut by truncation (id ${cut.id})` },
    h("del", { class: "p-text" }, cut.token),
    compact ? null : h("span", { class: "p-meta" }, `cut · id ${cut.id}`));
}

/** Every wordpiece in order, with the truncated ones put back (struck through) where they were cut. */
function piecesList(result) {
  const list = h("ol", { class: "pieces", "aria-label": "Wordpieces in order" });
  const cutBySeq = new Map();
  for (const c of result.truncated) {
    if (!cutBySeq.has(c.sequence)) cutBySeq.set(c.sequence, []);
    cutBySeq.get(c.sequence).push(c);
  }
  const done = new Set();
  result.tokens.forEach((_, i) => {
    const seq = result.sequence_ids[i];
    if (seq === null || result.special_tokens_mask[i] === 1) {
      list.append(pieceChip(result, i));
      return;
    }
    if (done.has(seq)) return;
    done.add(seq);
    // All kept pieces of this sequence, and its cut ones, in text order.
    const items = result.tokens.map((__, k) => k)
      .filter((k) => result.sequence_ids[k] === seq && result.special_tokens_mask[k] !== 1)
      .map((k) => ({ start: result.offsets[k][0], node: pieceChip(result, k) }));
    for (const c of cutBySeq.get(seq) || []) items.push({ start: c.start, node: cutChip(c) });
    items.sort((x, y) => x.start - y.start);
    list.append(...items.map((x) => x.node));
  });
  for (const [seq, cuts] of cutBySeq) {  // a sequence cut away entirely
    if (!done.has(seq)) list.append(...cuts.map(cutChip));
  }
  return list;
}

function wordCards(lemmaResult, result, seq) {
  const bySpan = new Map();
  for (const a of result.alignment || []) {
    if (a.sequence === seq) bySpan.set(`${a.start}:${a.end}`, a);
  }
  const list = h("ol", { class: "words", "aria-label": `Words of text ${SEGMENT_NAME[seq]}` });
  for (const t of lemmaResult.tokens) {
    if (t.is_space) continue;
    const a = bySpan.get(`${t.start}:${t.end}`);
    // Its wordpieces: the kept ones (from the alignment) and any cut ones inside its span.
    const pieces = (a ? a.wordpieces : []).map((k) => ({ start: result.offsets[k][0],
                                                         node: pieceChip(result, k, { compact: true }) }));
    for (const c of result.truncated) {
      if (c.sequence === seq && c.start >= t.start && c.end <= t.end) {
        pieces.push({ start: c.start, node: cutChip(c, { compact: true }) });
      }
    }
    pieces.sort((x, y) => x.start - y.start);
    list.append(h("li", { class: `word seg-${SEGMENT[seq]}`, "data-word": t.text },
      h("span", { class: "w-text" }, t.text),
      h("span", { class: "w-lemma", title: "lemma" }, t.lemma),
      h("span", { class: "w-pos", title: [t.tag, t.morph].filter(Boolean).join(" · ") || "no tag" }, t.pos || "–"),
      pieces.length
        ? h("ol", { class: "pieces compact", "aria-label": `wordpieces of ${t.text}` }, pieces.map((x) => x.node))
        : h("span", { class: "w-none" }, "no wordpiece")));
  }
  return list;
}

function legend(hasPair, hasCut) {
  const item = (cls, text) => h("li", {}, h("span", { class: `swatch ${cls}`, "aria-hidden": "true" }), text);
  return h("ul", { class: "legend", "aria-label": "Legend" },
    item("seg-a", "segment A (first text)"),
    hasPair ? item("seg-b", "segment B (second text)") : null,
    item("seg-a special", "special token"),
    hasCut ? item("seg-a cut", "cut by truncation") : null);
}

export function init() {
  const form = document.getElementById("tokens-form");
  const results = document.getElementById("tokens-results");
  onSubmit(form, results, async () => {
    const text = form.elements.text.value;
    const pair = form.elements.text_pair.value.trim() ? form.elements.text_pair.value : null;
    const body = { text, align_with: "spacy", truncation: form.elements.truncation.value };
    if (pair !== null) body.text_pair = pair;
    const maxLength = form.elements.max_length.value;
    if (maxLength !== "") body.max_length = Number(maxLength);
    const [tok, lem] = await Promise.all([
      post("v1/tokenize", body),
      post("v1/lemmatize", { text: pair === null ? text : [text, pair], engine: form.elements.engine.value }),
    ]);
    const result = tok.results[0];
    const sequences = pair === null ? [0] : [0, 1];
    const facts = [`${result.length} wordpieces (max_length ${tok.max_length})`];
    if (result.num_unk) facts.push(`${result.num_unk} unknown`);
    if (result.num_truncated) facts.push(`${result.num_truncated} cut by truncation (${tok.truncation})`);
    return [
      h("h3", {}, "Words: lemma, part of speech and wordpieces"),
      sequences.map((seq) => h("div", { class: "sequence" },
        sequences.length > 1 ? h("h4", {}, `Text ${SEGMENT_NAME[seq]}`) : null,
        wordCards(lem.results[seq], result, seq))),
      h("h3", {}, "Wordpieces"),
      h("p", { class: "facts" }, `${facts.join(" · ")}. Model ${tok.model}, vocabulary of ${tok.vocab_size}.`),
      legend(pair !== null, result.num_truncated > 0),
      piecesList(result),
    ];
  });
}
