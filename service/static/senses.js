// Senses panel: POST v1/senses/compare; similarity heatmaps, 2-D projection, per-layer curve, verdict.

import { h, fmt, pct } from "./dom.js";
import { post, onSubmit, inputError } from "./api.js";
import { heatmap, scaleKey, scatter, lineChart, senseColour } from "./charts.js";

function lines(text) {
  return text.split("\n").map((s) => s.trim()).filter(Boolean);
}

function parseExamples(text) {
  const examples = {};
  for (const line of lines(text)) {
    const colon = line.indexOf(":");
    if (colon <= 0 || !line.slice(colon + 1).trim()) {
      throw inputError(`Each labelled example needs the form “label: sentence”; this line does not: “${line}”.`);
    }
    const label = line.slice(0, colon).trim();
    (examples[label] = examples[label] || []).push(line.slice(colon + 1).trim());
  }
  return Object.keys(examples).length ? examples : null;
}

/** The sentence with the occurrence(s) of the target in bold. */
function sentenceWithTarget(text, occurrence) {
  if (!occurrence || occurrence.end > text.length) return text;
  return [text.slice(0, occurrence.start), h("strong", {}, text.slice(occurrence.start, occurrence.end)),
          text.slice(occurrence.end)];
}

function senseName(sense, k) {
  return sense.label ? `Sense ${k + 1}: ${sense.label}` : `Sense ${k + 1}`;
}

export function init() {
  const form = document.getElementById("senses-form");
  const results = document.getElementById("senses-results");
  onSubmit(form, results, async () => {
    const target = form.elements.target.value.trim();
    const sentences = lines(form.elements.sentences.value);
    if (!sentences.length) throw inputError("Give at least one sentence containing the word.");
    const body = { target, sentences };
    const examples = parseExamples(form.elements.examples.value);
    if (examples) body.examples = examples;
    const r = await post("v1/senses/compare", body);
    return render(r, sentences, examples);
  });
}

function render(r, sentences, examples) {
  const groupOf = new Map();
  r.senses.forEach((sense, k) => sense.sentences.forEach((i) => groupOf.set(i, k)));
  const occurrence = new Map(r.occurrences.map((o) => [o.sentence, o]));
  const numbers = sentences.map((_, i) => String(i + 1));

  const verdict = h("p", { class: "verdict" }, r.verdict);
  const confidence = h("p", { class: "facts" },
    `${r.num_senses} sense${r.num_senses === 1 ? "" : "s"} found · confidence ${pct(r.confidence)} · `
    + `grouped by ${r.grouping === "labels" ? "nearest labelled example" : "clustering"}`);

  const senseList = h("ol", { class: "senses" }, r.senses.map((sense, k) =>
    h("li", { class: "sense", "data-sense": k },
      h("span", { class: "swatch", style: `background: ${senseColour(k)}`, "aria-hidden": "true" }),
      h("span", { class: "sense-name" }, senseName(sense, k)),
      h("ul", {}, sense.sentences.map((i) =>
        h("li", {}, h("span", { class: "num" }, `${i + 1}. `), sentenceWithTarget(sentences[i], occurrence.get(i))))))));

  // Both matrices on one colour scale, so "all 1.0" looks as flat as it is.
  const contextual = r.contextual.similarity;
  const staticSim = r.static ? r.static.similarity : null;
  const values = [...contextual.flat(), ...(staticSim ? staticSim.flat() : [])];
  const lo = Math.min(0.5, Math.floor(Math.min(...values) * 10) / 10);
  const showValues = sentences.length <= 8;
  const matrixFigure = (title, matrix, caption, extra) => h("figure", { class: "matrix" },
    heatmap({ matrix, rowLabels: numbers, colLabels: numbers, lo, hi: 1, showValues, label: title,
              rowTitles: sentences, colTitles: sentences,
              cellTitle: (i, j, v) => `sentences ${i + 1} and ${j + 1}: cosine ${fmt(v, 3)}` }),
    h("figcaption", {}, h("strong", {}, title), caption), extra);
  const staticFigure = r.static
    ? matrixFigure(`Static: ${r.static.model}`, staticSim, "",
        [h("p", { class: "note" }, r.static.note),
         r.static.neighbours.length
           ? h("p", { class: "note" }, "Nearest words to that vector: ",
               r.static.neighbours.slice(0, 6).map((n) => `${n.word} (${fmt(n.similarity, 2)})`).join(", "), ".")
           : null])
    : h("figure", { class: "matrix" }, h("figcaption", {}, "No static vector model is loaded."));
  const contextualFigure = matrixFigure(`Contextual: ${r.contextual.encoder.split("/").pop()}, ${r.contextual.layer}`,
    contextual, " Each occurrence gets its own vector from the sentence around it.",
    r.contextual.threshold !== undefined
      ? h("p", { class: "note" }, `Pairs above ${fmt(r.contextual.threshold, 3)} count as the same sense.`)
      : null);

  // 2-D projection of the occurrences (and of the labelled examples, after them).
  const proj = r.projection || {};
  const points = (proj.sentences || []).map(([x, y], i) => ({
    x, y, group: groupOf.has(i) ? groupOf.get(i) : -1, label: String(i + 1),
    title: `${i + 1}. ${sentences[i]} (${groupOf.has(i) ? senseName(r.senses[groupOf.get(i)], groupOf.get(i)) : "no sense"})`,
  }));
  const flatExamples = examples ? Object.entries(examples).flatMap(([label, group]) => group.map((s) => [label, s])) : [];
  const marks = (proj.examples || []).map(([x, y], k) => {
    const [label, text] = flatExamples[k] || ["example", ""];
    const group = r.senses.findIndex((s) => s.label === label);
    return { x, y, group, label, title: `example (${label}): ${text}` };
  });
  const ev = proj.explained_variance || [];
  const axis = (n) => `PC${n + 1}${ev[n] !== undefined ? ` (${Math.round(100 * ev[n])}% of variance)` : ""}`;
  const scatterFigure = points.length
    ? h("figure", { class: "chart-figure" },
        scatter({ points, marks, xLabel: axis(0), yLabel: axis(1),
                  label: `2-D ${(proj.method || "").toUpperCase()} projection of the ${points.length} occurrences` }),
        h("figcaption", {}, h("strong", {}, "Where the occurrences lie"),
          ` (${(proj.method || "projection").toUpperCase()} of the contextual vectors). Discs are the sentences, numbered and coloured by the sense found`,
          marks.length ? "; hollow diamonds are the labelled examples." : "."))
    : null;

  const chosen = Number((String(r.contextual.layer).match(/\d+/) || [])[0]);
  const layersFigure = r.layers.length
    ? h("figure", { class: "chart-figure" },
        lineChart({ xs: r.layers.map((l) => l.layer), ys: r.layers.map((l) => l.separation), highlight: chosen,
                    xLabel: "encoder layer (0 = embeddings)", yLabel: "separation",
                    label: "Separation of the senses at each encoder layer",
                    pointTitle: (x, y) => `layer ${x}: separation ${fmt(y, 3)}` }),
        h("figcaption", {}, h("strong", {}, "Separation per layer: "),
          "mean similarity within a sense minus mean similarity between senses, at each encoder layer. "
          + (Number.isFinite(chosen) ? `The ringed layer ${chosen} gives the verdict.` : "")))
    : null;

  return [
    verdict,
    confidence,
    senseList,
    h("h3", {}, "Similarity of every pair of occurrences"),
    h("div", { class: "side-by-side" }, staticFigure, contextualFigure),
    scaleKey(lo, 1, "cosine similarity"),
    h("div", { class: "side-by-side" }, scatterFigure, layersFigure),
  ];
}
