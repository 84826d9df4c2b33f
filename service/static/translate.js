// Translate panel: POST v1/translate with return_attention; the attention matrix drawn here as a heatmap
// (target rows, source columns). The server's own SVG (v1/translate/heatmap) can be shown next to it.

import { h, fmt } from "./dom.js";
import { post, onSubmit, errorBox } from "./api.js";
import { heatmap, scaleKey } from "./charts.js";

function decodingOptions(form) {
  const greedy = form.elements.decoding.value === "greedy";
  return { beam_size: greedy ? 1 : Math.max(2, Math.min(16, Number(form.elements.beam_size.value) || 5)) };
}

function serverSvgButton(body) {
  const holder = h("div", { class: "server-svg" });
  const button = h("button", { type: "button", class: "secondary" }, "Show the server-drawn SVG too");
  button.addEventListener("click", async () => {
    button.setAttribute("aria-disabled", "true");
    try {
      const text = await post("v1/translate/heatmap", body, { as: "text" });
      const url = URL.createObjectURL(new Blob([text], { type: "image/svg+xml" }));
      const img = h("img", { src: url, alt: "Attention heatmap drawn by the service" });
      img.addEventListener("load", () => URL.revokeObjectURL(url), { once: true });
      holder.replaceChildren(img);
      button.remove();
    } catch (err) {
      holder.replaceChildren(errorBox(err));
    } finally {
      button.removeAttribute("aria-disabled");
    }
  });
  return [button, holder];
}

export function init() {
  const form = document.getElementById("translate-form");
  const results = document.getElementById("translate-results");
  const size = form.elements.beam_size;
  const sync = () => { size.disabled = form.elements.decoding.value === "greedy"; };
  for (const radio of form.querySelectorAll('input[name="decoding"]')) radio.addEventListener("change", sync);
  sync();

  onSubmit(form, results, async () => {
    const text = form.elements.text.value;
    const body = { text, ...decodingOptions(form) };
    const r = await post("v1/translate", { ...body, return_attention: true });
    const t = r.results[0];
    const rows = t.tokens;
    const cols = t.source_tokens.map((s) => s.text);
    const matrix = t.attention || [];
    const decoding = r.beam_size === 1 ? "greedy decoding" : `beam search, beam size ${r.beam_size}`;
    return [
      h("p", { class: "translation", lang: "es" }, t.text),
      h("p", { class: "facts" },
        `${decoding} · score ${fmt(t.score, 3)} (per token ${fmt(t.normalized_score, 3)})`
        + `${t.finished ? "" : " · stopped at the length limit"} · model ${r.model} ${r.model_version}, ${r.attention} attention`),
      (t.warnings || []).length
        ? h("p", { class: "warnings", role: "note" }, t.warnings.map((w) => `⚠ ${w.message}`).join(" · "))
        : null,
      h("h3", {}, "Attention: where each Spanish word looked"),
      matrix.length
        ? h("figure", { class: "attention" },
            heatmap({ matrix, rowLabels: rows, colLabels: cols, lo: 0, hi: 1,
                      label: `Attention of ${rows.length} output tokens over ${cols.length} source tokens`,
                      rowTitles: rows.map((tok, i) => `${tok}: attention entropy ${fmt(t.attention_entropy[i], 3)} nats`),
                      colTitles: t.source_tokens.map((s) => (s.known ? s.text : `${s.text} (characters the model never saw whole)`)),
                      colClass: (j) => (t.source_tokens[j].known ? "" : "unknown"),
                      cellTitle: (i, j, v) => `${rows[i]} → ${cols[j]}: ${fmt(v, 3)}` }),
            h("figcaption", {}, "Rows: output tokens, in order. Columns: source tokens. Each row sums to 1."))
        : h("p", {}, "No attention matrix was returned."),
      matrix.length ? scaleKey(0, 1, "attention weight") : null,
      serverSvgButton(body),
    ];
  });
}
