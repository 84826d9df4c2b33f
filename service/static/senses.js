// Senses panel: POST v1/senses/compare; each occurrence's WordNet sense with its gloss and probability,
// groups coloured, similarity heatmaps, 2-D projection with the senses' gloss points, per-layer curve, verdict.

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
  if (sense.label) return `Sense ${k + 1}: ${sense.label}`;
  const wn = sense.sense;
  return wn ? `Sense ${k + 1}: ${wn.lemma_names[0].replace(/_/g, " ")} (${wn.pos}. ${wn.sense_number})` : `Sense ${k + 1}`;
}

/** “bank (n. 2, noun.group): a financial institution … · 87%” */
function wordnetSense(c) {
  if (!c) return null;
  return h("span", { class: "wordnet-sense", title: `WordNet 3.0 synset ${c.synset}` },
    h("em", {}, `${c.lemma_names[0].replace(/_/g, " ")} (${c.pos}. ${c.sense_number}, ${c.lexname})`), `: ${c.gloss}`,
    c.score !== undefined ? h("span", { class: "score" }, ` · ${pct(c.score)}`) : null);
}

/** Occurrence label: sentence number, and which occurrence when a sentence has several (“2.1”). */
function occLabel(o) {
  return o.count > 1 ? `${o.sentence + 1}.${o.index + 1}` : String(o.sentence + 1);
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
  const groupOf = new Map();  // occurrence index -> group
  r.senses.forEach((sense, k) => (sense.occurrences && sense.occurrences.length ? sense.occurrences : sense.sentences)
    .forEach((i) => groupOf.set(i, k)));
  const occ = r.occurrences;
  const numbers = occ.map(occLabel);
  const occTitles = occ.map((o) => sentences[o.sentence]);

  const verdict = h("p", { class: "verdict" }, r.verdict);
  const confidence = h("p", { class: "facts" },
    `${r.num_senses} sense${r.num_senses === 1 ? "" : "s"} found · ${occ.length} occurrence${occ.length === 1 ? "" : "s"} compared`
    + ` · confidence ${pct(r.confidence)} · ${r.method || (r.grouping === "labels" ? "nearest labelled example" : "clustering")}`);

  const senseList = h("ol", { class: "senses" }, r.senses.map((sense, k) =>
    h("li", { class: "sense", "data-sense": k },
      h("span", { class: "swatch", style: `background: ${senseColour(k)}`, "aria-hidden": "true" }),
      h("span", { class: "sense-name" }, senseName(sense, k)),
      sense.sense ? h("p", { class: "sense-gloss" }, wordnetSense(sense.sense)) : null,
      h("ul", {}, (sense.occurrences && sense.occurrences.length ? sense.occurrences : sense.sentences).map((i) => {
        const o = occ[i] || occ.find((x) => x.sentence === i);
        return h("li", { class: "occurrence" }, h("span", { class: "num" }, `${occLabel(o)}. `),
          sentenceWithTarget(sentences[o.sentence], o),
          o.sense ? h("div", { class: "occ-sense" }, wordnetSense(o.sense)) : (o.note ? h("div", { class: "note" }, o.note) : null));
      })))));

  // Both matrices on one colour scale, so "all 1.0" looks as flat as it is.
  const contextual = r.contextual.similarity;
  const staticSim = r.static ? r.static.similarity : null;
  const values = [...contextual.flat(), ...(staticSim ? staticSim.flat() : [])];
  const lo = Math.min(0.5, Math.floor(Math.min(...values) * 10) / 10);
  const showValues = occ.length <= 8;
  const matrixFigure = (title, matrix, caption, extra) => h("figure", { class: "matrix" },
    heatmap({ matrix, rowLabels: numbers, colLabels: numbers, lo, hi: 1, showValues, label: title,
              rowTitles: occTitles, colTitles: occTitles,
              cellTitle: (i, j, v) => `occurrences ${numbers[i]} and ${numbers[j]}: cosine ${fmt(v, 3)}` }),
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
      ? h("p", { class: "note" }, `p(same sense) is 0.5 at cosine ${fmt(r.contextual.threshold, 3)} (fitted on WordNet pairs); `
          + "the groups come from spectral clustering and WordNet disambiguation.")
      : null);

  // 2-D projection of the occurrences (and of the labelled examples, after them).
  const proj = r.projection || {};
  const points = (proj.sentences || []).map(([x, y], i) => ({
    x, y, group: groupOf.has(i) ? groupOf.get(i) : -1, label: numbers[i],
    title: `${numbers[i]}. ${occTitles[i]} (${groupOf.has(i) ? senseName(r.senses[groupOf.get(i)], groupOf.get(i)) : "no sense"})`,
  }));
  const flatExamples = examples ? Object.entries(examples).flatMap(([label, group]) => group.map((s) => [label, s])) : [];
  const marks = (proj.examples || []).map(([x, y], k) => {
    const [label, text] = flatExamples[k] || ["example", ""];
    const group = r.senses.findIndex((s) => s.label === label);
    return { x, y, group, label, title: `example (${label}): ${text}` };
  });
  (proj.senses || []).forEach((g) => {
    const group = r.senses.findIndex((s) => s.sense && s.sense.synset === g.synset);
    marks.push({ x: g.point[0], y: g.point[1], group, label: `gloss ${g.sense_number}`,
                 title: `WordNet gloss (sense ${g.sense_number}): ${g.gloss}` });
  });
  const ev = proj.explained_variance || [];
  const axis = (n) => `PC${n + 1}${ev[n] !== undefined ? ` (${Math.round(100 * ev[n])}% of variance)` : ""}`;
  const scatterFigure = points.length
    ? h("figure", { class: "chart-figure" },
        scatter({ points, marks, xLabel: axis(0), yLabel: axis(1),
                  label: `2-D ${(proj.method || "").toUpperCase()} projection of the ${points.length} occurrences` }),
        h("figcaption", {}, h("strong", {}, "Where the occurrences lie"),
          ` (${(proj.method || "projection").toUpperCase()} of the contextual vectors). Discs are the sentences, numbered and coloured by the sense found`,
          marks.length ? "; hollow diamonds are the labelled examples and the WordNet glosses of the senses found." : "."))
    : null;

  const range = String(r.contextual.layer).match(/layers? (\d+)(?:-(\d+))?/) || [];
  const chosen = range[1] === undefined ? NaN
    : Math.round((Number(range[1]) + Number(range[2] === undefined ? range[1] : range[2])) / 2);
  const layersFigure = r.layers.length
    ? h("figure", { class: "chart-figure" },
        lineChart({ xs: r.layers.map((l) => l.layer), ys: r.layers.map((l) => l.separation), highlight: chosen,
                    xLabel: "encoder layer (0 = embeddings)", yLabel: "separation",
                    label: "Separation of the senses at each encoder layer",
                    pointTitle: (x, y) => `layer ${x}: separation ${fmt(y, 3)}` }),
        h("figcaption", {}, h("strong", {}, "Separation per layer: "),
          "mean similarity within a sense minus mean similarity between senses, at each encoder layer. "
          + (Number.isFinite(chosen) ? `The occurrence vectors average ${range[2] ? `layers ${range[1]}-${range[2]}` : `layer ${range[1]}`} (ringed: ${chosen}).` : "")))
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
