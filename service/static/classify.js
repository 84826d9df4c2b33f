// Classify panel: POST v1/classify; probability bars, the deciding n-grams highlighted by character span.

import { h, fmt, pct } from "./dom.js";
import { post, onSubmit } from "./api.js";

function bars(probabilities, winner) {
  const entries = Object.entries(probabilities).sort((a, b) => b[1] - a[1]);
  return h("ul", { class: "bars", "aria-label": "Probability of each class" }, entries.map(([label, p]) =>
    h("li", { class: label === winner ? "bar-row winner" : "bar-row", "data-label": label },
      h("span", { class: "bar-label" }, label),
      h("span", { class: "bar-track", "aria-hidden": "true" },
        h("span", { class: "bar-fill", style: `width: ${(100 * p).toFixed(2)}%` })),
      h("span", { class: "bar-value" }, pct(p)))));
}

/**
 * The sentence split wherever an evidence span starts or ends; every piece covered by evidence
 * becomes a <mark> whose strength is the summed contribution of the n-grams covering it.
 */
function highlighted(text, evidence) {
  const cuts = new Set([0, text.length]);
  for (const e of evidence) {
    cuts.add(Math.max(0, Math.min(text.length, e.start)));
    cuts.add(Math.max(0, Math.min(text.length, e.end)));
  }
  const points = [...cuts].sort((a, b) => a - b);
  const pieces = [];
  for (let k = 0; k + 1 < points.length; k++) {
    const [a, b] = [points[k], points[k + 1]];
    const covering = evidence.map((e, i) => [e, i]).filter(([e]) => e.start <= a && e.end >= b);
    pieces.push({ a, b, covering, weight: covering.reduce((sum, [e]) => sum + e.contribution, 0) });
  }
  const strongest = Math.max(1e-9, ...pieces.map((p) => Math.abs(p.weight)));
  return h("p", { class: "evidence-text" }, pieces.map(({ a, b, covering, weight }) => {
    const chunk = text.slice(a, b);
    if (!covering.length) return chunk;
    const level = Math.max(1, Math.min(4, Math.ceil((4 * Math.abs(weight)) / strongest)));
    return h("mark", {
      class: `ev ${weight >= 0 ? "ev-pos" : "ev-neg"} ev-${level}`,
      "data-evidence": covering.map(([, i]) => i).join(" "),
      title: covering.map(([e]) => `“${e.text}” ${weight >= 0 ? "+" : ""}${fmt(e.contribution, 3)}`).join("\n"),
    }, chunk);
  }));
}

function evidenceList(evidence, label) {
  return h("ol", { class: "evidence-list" }, evidence.map((e, i) =>
    h("li", { "data-evidence": i },
      h("q", {}, e.text),
      h("span", { class: "facts" },
        ` ${e.width}-gram, characters ${e.start}–${e.end}, ${e.contribution >= 0 ? "+" : ""}${fmt(e.contribution, 3)} `
        + `to the ${label} score`))));
}

export function init() {
  const form = document.getElementById("classify-form");
  const results = document.getElementById("classify-results");
  onSubmit(form, results, async () => {
    const text = form.elements.text.value;
    const r = await post("v1/classify", { text });
    const c = r.results[0];
    return [
      h("p", { class: "verdict" }, "Class ", h("strong", { class: "predicted" }, c.label), ` (${pct(c.score)})`),
      bars(c.probabilities, c.label),
      h("h3", {}, "The n-grams that decided it"),
      c.evidence.length ? highlighted(text, c.evidence) : h("p", {}, "No evidence was returned."),
      c.evidence.length ? evidenceList(c.evidence, c.label) : null,
      h("p", { class: "facts" },
        `Model ${r.model} ${r.model_version}; ${c.num_tokens} tokens, ${c.unknown_tokens} not in its vocabulary. `
        + `The ${c.label} logit is ${fmt(c.logit, 3)}: the bias ${fmt(c.bias, 3)} plus what every n-gram adds; `
        + "the largest additions are listed."),
    ];
  });
}
