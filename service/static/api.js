// Calls to the public /v1 API with relative URLs (same host as the page), and the
// application/problem+json errors it answers with, turned into readable messages.

import { h } from "./dom.js";

const KEY_STORE = "lexiflow.apiKey";
let memoryKey = ""; // used when sessionStorage is not available

export function apiKey() {
  try {
    return sessionStorage.getItem(KEY_STORE) || "";
  } catch {
    return "";
  }
}

export function setApiKey(key) {
  try {
    if (key) sessionStorage.setItem(KEY_STORE, key);
    else sessionStorage.removeItem(KEY_STORE);
  } catch {
    /* storage disabled: the key lasts until the page is reloaded */
  }
  memoryKey = key;
}

/** An error answer of the API (or no answer at all), holding the problem document. */
export class ApiError extends Error {
  constructor(problem, status) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.problem = problem;
    this.status = status;
  }
}

function headers(extra) {
  const out = { Accept: "application/json, application/problem+json", ...extra };
  const key = apiKey() || memoryKey;
  if (key) out.Authorization = `Bearer ${key}`;
  return out;
}

/** GET or POST `path` (relative, e.g. "v1/tokenize"); JSON in, JSON (or text for SVG) out. */
export async function call(path, body, { as = "json" } = {}) {
  let res;
  try {
    res = await fetch(path, {
      method: body === undefined ? "GET" : "POST",
      headers: headers(body === undefined ? {} : { "Content-Type": "application/json" }),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError({ title: "The service did not answer",
                         detail: `Could not reach the service (${err.message}). Is it running?` }, 0);
  }
  if (!res.ok) {
    const text = await res.text();
    let problem;
    try {
      problem = JSON.parse(text);
      if (typeof problem !== "object" || problem === null) throw new Error("not an object");
    } catch {
      problem = { title: res.statusText || "Error", detail: text.trim().slice(0, 300) || `HTTP ${res.status}` };
    }
    problem.status = problem.status || res.status;
    throw new ApiError(problem, res.status);
  }
  return as === "text" ? res.text() : res.json();
}

export const post = (path, body, opts) => call(path, body, opts);
export const get = (path) => call(path);

function show(value) {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** A readable block for an error: the problem's title and status, its detail, limit/given, field errors. */
export function errorBox(err) {
  if (!(err instanceof ApiError)) {
    return h("div", { class: "problem", role: "alert" },
      h("p", { class: "problem-title" }, "Something went wrong in this page"),
      h("p", { class: "problem-detail" }, String(err && err.message ? err.message : err)));
  }
  const p = err.problem;
  const title = [p.title || "Error", err.status ? `(${err.status})` : ""].join(" ").trim();
  const extra = [];
  if (p.limit !== undefined && p.limit !== null) extra.push(`limit ${show(p.limit)}`);
  if (p.given !== undefined && p.given !== null) extra.push(`given ${show(p.given)}`);
  const fields = Array.isArray(p.errors) && p.errors.length > 1
    ? h("ul", { class: "problem-fields" },
        p.errors.map((e) => h("li", {}, `${(e.loc || []).filter((x) => x !== "body").join(".")}: ${e.msg}`)))
    : null;
  return h("div", { class: "problem", role: "alert" },
    h("p", { class: "problem-title" }, title),
    h("p", { class: "problem-detail" }, p.detail || "No detail was given."),
    extra.length ? h("p", { class: "problem-extra" }, extra.join(" · ")) : null,
    fields,
    err.status === 401 || err.status === 403
      ? h("p", { class: "problem-extra" }, "This service needs an API key: set it under “API key” at the bottom of the page.")
      : null);
}

/**
 * Wire a tool form: on submit, run `work()` (which calls the API and returns the nodes to show)
 * and put its nodes, or a readable error, in `results`. The button stays focusable while busy.
 */
export function onSubmit(form, results, work) {
  const status = form.querySelector(".status");
  const button = form.querySelector('button[type="submit"]');
  let busy = false;
  let runs = 0;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (busy) return;
    busy = true;
    button.setAttribute("aria-disabled", "true");
    results.setAttribute("aria-busy", "true");
    results.dataset.state = "busy";
    status.textContent = "Working…";
    const t0 = performance.now();
    let state = "done";
    try {
      const nodes = await work();
      results.replaceChildren(...[nodes].flat(Infinity).filter(Boolean));
      status.textContent = `Done in ${Math.round(performance.now() - t0)} ms.`;
    } catch (err) {
      state = "error";
      results.replaceChildren(errorBox(err));
      status.textContent = "Failed: see the message below.";
    } finally {
      busy = false;
      button.removeAttribute("aria-disabled");
      results.removeAttribute("aria-busy");
      results.dataset.runs = String(++runs);
      results.dataset.state = state;
    }
  });
}

/** An error found in the form itself, before any request, shown like the API's problems. */
export function inputError(detail) {
  return new ApiError({ title: "Please check the input", detail }, 0);
}
