// The page: tabs (a WAI-ARIA tablist with arrow keys), the four panels, page-level errors.

import { h, clear } from "./dom.js";
import { get, apiKey, setApiKey } from "./api.js";
import * as tokens from "./tokens.js";
import * as senses from "./senses.js";
import * as classify from "./classify.js";
import * as translate from "./translate.js";

function showPageError(message) {
  const box = document.getElementById("page-error");
  clear(box).append(h("p", { class: "problem-title" }, "Something went wrong in this page"),
                    h("p", { class: "problem-detail" }, message));
  box.hidden = false;
}

window.addEventListener("error", (e) => showPageError(e.message || String(e.error)));
window.addEventListener("unhandledrejection", (e) => showPageError(String(e.reason && e.reason.message || e.reason)));

function setupTabs() {
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  const select = (tab, { focus = true, updateHash = true } = {}) => {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute("aria-selected", String(on));
      t.tabIndex = on ? 0 : -1;
      document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
    }
    if (focus) tab.focus();
    if (updateHash) history.replaceState(null, "", `#${tab.id.replace(/^tab-/, "")}`);
  };
  for (const tab of tabs) {
    tab.addEventListener("click", () => select(tab));
    tab.addEventListener("keydown", (e) => {
      const i = tabs.indexOf(tab);
      const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
      if (next === undefined) return;
      e.preventDefault();
      select(tabs[(next + tabs.length) % tabs.length]);
    });
  }
  const fromHash = () => {
    const tab = document.getElementById(`tab-${location.hash.slice(1)}`);
    if (tab && tabs.includes(tab)) select(tab, { focus: false, updateHash: false });
  };
  window.addEventListener("hashchange", fromHash);
  fromHash();
}

function setupKey() {
  const form = document.getElementById("key-form");
  const input = document.getElementById("api-key");
  input.value = apiKey();
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    setApiKey(input.value.trim());
    loadModels();
  });
}

async function loadModels() {
  const line = document.getElementById("models-line");
  try {
    const { models } = await get("v1/models");
    const tasks = [...new Set(models.map((m) => m.task))];
    line.textContent = `Loaded: ${tasks.join(", ")}.`;
  } catch (err) {
    line.textContent = `Models: ${err.message}`;
  }
}

// Ctrl+Enter (or Cmd+Enter) in a text box sends its form.
document.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && e.target.form) {
    e.preventDefault();
    e.target.form.requestSubmit();
  }
});

document.getElementById("page-error").hidden = true; // boot.js's "did not start", if it was slow to
setupTabs();
setupKey();
tokens.init();
senses.init();
classify.init();
translate.init();
loadModels();
document.documentElement.dataset.ready = "true";
