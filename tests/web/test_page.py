"""The web page at / driven in headless Chromium (Debian's `chromium` + `chromium-driver`, through
Selenium), against a real `lexiflow serve` process on a loopback port.

Each panel is used the way a person would (type, click, wait), with assertions on what appears;
every test also checks that the page asked no host but the service (Chrome's performance log), and
saves a full-page screenshot under test-artifacts/web/.

Skipped only when Chromium or its driver is missing and cannot be installed (not root, no apt-get,
or the install failed): `.ci/run` installs both.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from tests.conftest import free_port, stop_process

# The browser tests need a real server process (about 20 s to start with the real models), which is
# what this project's `slow` marker means; each test itself takes 0.5-3 s.
slow = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "web"
WAIT_S = 60  # the slowest request (senses, on a busy 2-core machine) stays well under this


# ---------------------------------------------------------------------------------------------- setup

def _chromium() -> tuple[str, str] | None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def _install_chromium() -> str:
    """Try apt-get (as root) once; return why it could not be done, or "" when it was."""
    if not shutil.which("apt-get"):
        return "apt-get is not available"
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        return "not root, so apt-get cannot install it"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"],
                ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium", "chromium-driver",
                 "fonts-liberation"]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            return f"`{' '.join(cmd)}` failed: {(done.stderr or done.stdout).strip()[-300:]}"
    return ""


@pytest.fixture(scope="session")
def chromium_paths() -> tuple[str, str]:
    found = _chromium()
    if found is None:
        why = _install_chromium()
        found = _chromium()
        if found is None:
            pytest.skip("headless Chromium is not installed and could not be installed "
                        f"({why or 'the packages installed no chromium/chromedriver'}); "
                        "`apt-get install chromium chromium-driver` (as .ci/run does) to run the browser tests")
    return found


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`python -m lexiflow serve` on a free loopback port, with whatever models this checkout ships."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("web-server") / "server.log"
    env = {**os.environ, "LEXIFLOW_LOG_LEVEL": "warning", "LEXIFLOW_WORKERS": "1", "PYTHONUNBUFFERED": "1"}
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "lexiflow", "serve", "--host", "127.0.0.1", "--port", str(port)],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, f"the server exited: {log_path.read_text()[-3000:]}"
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"server not ready in 180 s: {log_path.read_text()[-3000:]}"
            time.sleep(0.3)
        yield base
    finally:
        stop_process(proc)


@pytest.fixture(scope="module")
def browser(chromium_paths):
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:  # a declared test dependency: its absence is an install error, not a reason to skip
        pytest.fail("selenium is not installed: `pip install -e '.[test]'`")
    binary, driver_path = chromium_paths
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,900", "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-default-apps", "--disable-features=Translate,MediaRouter",
                "--hide-scrollbars", "--lang=en-US"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_script_timeout(WAIT_S)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def page(browser, server):
    """The page freshly loaded at desktop size, with the logs of earlier tests drained."""
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    browser.get(f"{server}/")
    _wait(browser, lambda d: d.execute_script("return document.documentElement.dataset.ready === 'true'"))
    browser.get_log("performance")  # this test's requests only (the page load is checked in its own test)
    browser.get_log("browser")
    yield browser
    _assert_only_the_service_was_asked(browser, server)
    _assert_no_script_errors(browser)


# -------------------------------------------------------------------------------------------- helpers

def _wait(driver, condition, timeout: float = WAIT_S):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition)


def _by_css(driver_or_el, css):
    from selenium.webdriver.common.by import By

    return driver_or_el.find_elements(By.CSS_SELECTOR, css)


def _one(driver_or_el, css):
    found = _by_css(driver_or_el, css)
    assert found, f"nothing matches {css!r}"
    return found[0]


def _open_tab(driver, name: str):
    _one(driver, f"#tab-{name}").click()
    assert _one(driver, f"#panel-{name}").is_displayed()


def _type(driver, css: str, text: str):
    el = _one(driver, css)
    el.clear()
    if text:
        el.send_keys(text)


def _submit(driver, panel: str, button_text: str):
    """Click the panel's submit button and wait until its results are in (or an error is shown)."""
    results = _one(driver, f"#{panel}-results")
    runs = int(results.get_attribute("data-runs") or 0)
    button = _one(driver, f"#panel-{panel} button[type=submit]")
    assert button.text == button_text
    button.click()
    _wait(driver, lambda d: int(results.get_attribute("data-runs") or 0) > runs)
    return results.get_attribute("data-state")


def _problem(driver, panel: str) -> str:
    box = _one(driver, f"#{panel}-results .problem")
    assert box.get_attribute("role") == "alert"
    return box.text


def _screenshot(driver, name: str) -> Path:
    """The whole page (not only the viewport) as PNG under test-artifacts/web/."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}})
    path = SHOTS / f"{name}.png"
    path.write_bytes(base64.b64decode(shot["data"]))
    assert path.stat().st_size > 5000, f"{path} looks empty"
    return path


def _requested_urls(driver) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") in ("Network.requestWillBeSent", "Network.webSocketCreated"):
            params = message["params"]
            urls.append(params.get("request", {}).get("url") or params.get("url"))
    return urls


def _foreign(urls: list[str], base: str) -> list[str]:
    """The URLs that are not the service's own (data: and blob: URLs are made in the page itself)."""
    service = urlparse(base).netloc
    return [u for u in urls if urlparse(u).scheme not in ("data", "blob", "about")
            and (urlparse(u).scheme not in ("http", "https") or urlparse(u).netloc != service)]


def _assert_only_the_service_was_asked(driver, base: str) -> list[str]:
    urls = _requested_urls(driver)
    assert not _foreign(urls, base), f"the page asked other hosts: {_foreign(urls, base)}"
    return urls


def _assert_no_script_errors(driver):
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE" and e.get("source") != "network"]
    assert not errors, f"script errors in the page: {errors}"


def _api(server: str, path: str, body: dict) -> httpx.Response:
    return httpx.post(f"{server}{path}", json=body, timeout=WAIT_S)


# ---------------------------------------------------------------------------------------------- tests

def test_the_foreign_request_check_itself():
    base = "http://127.0.0.1:8123"
    ok = [f"{base}/", f"{base}/static/app.js", "data:,", "blob:http://127.0.0.1:8123/3f2a", "https://127.0.0.1:8123/"]
    bad = ["http://127.0.0.1:9999/x", "http://localhost:8123/", "https://cdn.example/x.js",
           "ws://127.0.0.1:8123/", "ftp://127.0.0.1:8123/"]
    assert _foreign(ok + bad, base) == bad


@slow
def test_page_loads_from_the_service_alone(browser, server):
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    browser.get_log("performance")
    browser.get(f"{server}/")
    _wait(browser, lambda d: d.execute_script("return document.documentElement.dataset.ready === 'true'"))
    _wait(browser, lambda d: _one(d, "#models-line").text.startswith("Loaded:"))
    assert browser.title == "lexiflow"
    urls = _assert_only_the_service_was_asked(browser, server)
    paths = {urlparse(u).path for u in urls if urlparse(u).scheme == "http"}
    assert {"/", "/static/app.js", "/static/style.css", "/v1/models"} <= paths, paths
    _assert_no_script_errors(browser)


@slow
def test_tabs_are_a_keyboard_tablist(page):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    tabs = _by_css(page, '[role="tablist"] [role="tab"]')
    # the four panels first; a task's own panel may follow (docs/adding-a-task.md)
    assert [t.text for t in tabs][:4] == ["Tokens", "Senses", "Classify", "Translate"]
    last = tabs[-1].get_attribute("id")
    assert all(t.tag_name == "button" for t in tabs)
    assert tabs[0].get_attribute("aria-selected") == "true"
    assert [t.get_attribute("tabindex") for t in tabs[1:]] == ["-1"] * (len(tabs) - 1)  # roving tabindex

    def active():
        return page.switch_to.active_element

    def press(*keys):
        ActionChains(page).send_keys(*keys).perform()

    press(Keys.TAB, Keys.TAB)  # the first focusable thing is the "/docs" link in the header, then the tabs
    assert active().get_attribute("id") == "tab-tokens"

    press(Keys.ARROW_RIGHT)
    assert active().get_attribute("id") == "tab-senses"
    assert active().get_attribute("aria-selected") == "true"
    assert _one(page, "#panel-senses").is_displayed() and not _one(page, "#panel-tokens").is_displayed()
    assert page.execute_script("return getComputedStyle(document.activeElement).outlineStyle") != "none"
    press(Keys.END)
    assert active().get_attribute("id") == last
    press(Keys.ARROW_RIGHT)  # wraps around
    assert active().get_attribute("id") == "tab-tokens"
    press(Keys.ARROW_LEFT)
    assert active().get_attribute("id") == last
    press(Keys.HOME)
    assert active().get_attribute("id") == "tab-tokens"
    press(Keys.TAB)  # into the panel, then its first field, which has a real label
    press(Keys.TAB)
    assert active().get_attribute("id") == "tok-text"
    assert _one(page, 'label[for="tok-text"]').text == "Text"

    # The form is sent from the keyboard too (Ctrl+Enter in a text box).
    results = _one(page, "#tokens-results")
    ActionChains(page).key_down(Keys.CONTROL).send_keys(Keys.ENTER).key_up(Keys.CONTROL).perform()
    _wait(page, lambda d: results.get_attribute("data-state") == "done")
    assert page.execute_script("return location.hash") == "#tokens"


@slow
def test_tokens_panel(page, server):
    _type(page, "#tok-text", "She was snorkeling unbelievably well.")
    _type(page, "#tok-pair", "Who was playing?")
    assert _submit(page, "tokens", "Tokenize") == "done"

    pieces = _by_css(page, "#tokens-results ol.pieces:not(.compact) > li")
    texts = [p.find_element("css selector", ".p-text").text for p in pieces]
    assert texts == ["[CLS]", "she", "was", "s", "##nor", "##kel", "##ing", "un", "##bel", "##ie", "##va", "##bly",
                     "well", ".", "[SEP]", "who", "was", "playing", "?", "[SEP]"]
    ing = pieces[texts.index("##ing")]
    assert "pos 6" in ing.text and "id 2075" in ing.text  # position id and vocabulary id under the piece
    seg_a = [p for p in pieces if "seg-a" in p.get_attribute("class").split()]
    seg_b = [p for p in pieces if "seg-b" in p.get_attribute("class").split()]
    assert [p.text.split("\n")[0] for p in seg_b] == ["who", "was", "playing", "?", "[SEP]"]
    assert len(seg_a) == 15
    assert seg_a[1].value_of_css_property("background-color") != seg_b[0].value_of_css_property("background-color")
    assert seg_a[1].value_of_css_property("border-top-color") != seg_b[0].value_of_css_property("border-top-color")

    # spaCy words with lemma and POS, and the wordpieces each one covers.
    word = _one(page, '#tokens-results li.word[data-word="snorkeling"]')
    assert word.find_element("css selector", ".w-lemma").text == "snorkel"
    assert word.find_element("css selector", ".w-pos").text == "VERB"
    assert [p.text for p in word.find_elements("css selector", ".compact .p-text")] == ["s", "##nor", "##kel", "##ing"]
    assert _one(page, '#tokens-results li.word[data-word="was"] .w-lemma').text == "be"
    assert len(_by_css(page, "#tokens-results li.word.seg-b")) == 4  # Who was playing ?
    assert _one(page, '#tokens-results li.word.seg-b[data-word="playing"] .w-lemma').text == "play"

    # Truncation: the cut wordpieces are shown, struck through, where they were cut.
    _type(page, "#tok-max", "12")
    page.execute_script("document.getElementById('tok-trunc').value = 'longest_first'")
    assert _submit(page, "tokens", "Tokenize") == "done"
    api = _api(server, "/v1/tokenize", {"text": "She was snorkeling unbelievably well.", "text_pair": "Who was playing?",
                                        "max_length": 12, "truncation": "longest_first"}).json()["results"][0]
    cut = _by_css(page, "#tokens-results ol.pieces:not(.compact) > li.cut")
    assert [c.text.split("\n")[0] for c in cut] == [t["token"] for t in api["truncated"]] != []
    assert all("line-through" in c.find_element("css selector", ".p-text").value_of_css_property("text-decoration")
               for c in cut)
    assert "cut by truncation (longest_first)" in _one(page, "#tokens-results .facts").text
    _screenshot(page, "tokens")

    # An error: too long for max_length without truncation shows the API's problem detail.
    page.execute_script("document.getElementById('tok-trunc').value = 'none'")
    _type(page, "#tok-max", "8")
    _type(page, "#tok-pair", "")
    assert _submit(page, "tokens", "Tokenize") == "error"
    message = _problem(page, "tokens")
    assert "Unprocessable request (422)" in message
    assert "exceed max_length 8" in message and "limit 8" in message
    _screenshot(page, "tokens-error")


@slow
def test_senses_panel(page, server):
    _open_tab(page, "senses")
    assert _one(page, "#sense-target").get_attribute("value") == "bank"
    assert _submit(page, "senses", "Compare") == "done"

    verdict = _one(page, "#senses-results .verdict").text
    assert "'bank' is used in 2 senses across 4 sentences" in verdict
    names = [s.text for s in _by_css(page, "#senses-results .sense-name")]
    assert names == ["Sense 1: money", "Sense 2: river"]

    heatmaps = _by_css(page, "#senses-results svg.heatmap")
    assert len(heatmaps) == 2  # static and contextual, side by side
    assert [len(m.find_elements("css selector", "g.cell")) for m in heatmaps] == [16, 16]
    left, right = (m.rect for m in heatmaps)
    assert abs(left["y"] - right["y"]) < 2 and right["x"] > left["x"] + left["width"] - 1
    static_cells = {c.find_element("css selector", "rect").get_attribute("fill") for c in
                    heatmaps[0].find_elements("css selector", "g.cell")}
    assert len(static_cells) == 1  # GloVe scores every pair 1.0: one colour
    contextual_cells = {c.find_element("css selector", "rect").get_attribute("fill") for c in
                        heatmaps[1].find_elements("css selector", "g.cell")}
    assert len(contextual_cells) > 2

    points = _by_css(page, "#senses-results svg.scatter g.point")
    groups = [p.get_attribute("data-group") for p in points]
    assert groups == ["0", "0", "1", "1"]  # sentences 1-2 money, 3-4 river, coloured by sense
    fills = [p.find_element("css selector", "circle").get_attribute("fill") for p in points]
    assert fills[0] == fills[1] != fills[2] == fills[3]
    # the two labelled examples and the WordNet glosses of the two senses found
    assert len(_by_css(page, "#senses-results svg.scatter g.example-point")) == 4
    glosses = [g.text for g in _by_css(page, "#senses-results .sense-gloss")]
    assert "financial institution" in glosses[0] and "sloping land" in glosses[1]
    assert len(_by_css(page, "#senses-results .occ-sense")) == 4

    layer_points = _by_css(page, "#senses-results svg.line-chart g.pt")
    assert len(layer_points) == 7  # layers 0..6
    used = _by_css(page, "#senses-results svg.line-chart g.pt-used")
    assert [u.get_attribute("data-x") for u in used] == ["3"]  # the middle of layers 2-4
    assert _one(page, "#senses-results svg.line-chart path.line").get_attribute("d").startswith("M")
    _screenshot(page, "senses")

    # An error: a sentence without the word names it, in the API's words.
    sentences = _one(page, "#sense-sentences")
    sentences.send_keys("\nI like apples.")
    assert _submit(page, "senses", "Compare") == "error"
    assert "does not occur in sentence(s) [4]" in _problem(page, "senses")
    # and a malformed labelled example is caught before any request
    _type(page, "#sense-examples", "no label here")
    assert _submit(page, "senses", "Compare") == "error"
    assert "label: sentence" in _problem(page, "senses")


def _classifier_loaded(server: str) -> bool:
    return any(m["task"] == "classify" for m in httpx.get(f"{server}/readyz").json()["models"])


@slow
def test_classify_panel(page, server):
    _open_tab(page, "classify")
    text = "What is the capital of France?"
    _type(page, "#cls-text", text)
    api = _api(server, "/v1/classify", {"text": text})
    if not _classifier_loaded(server):
        # No classifier artifact in this checkout: the panel shows the service's own explanation.
        assert api.status_code in (404, 503)
        assert _submit(page, "classify", "Classify") == "error"
        assert api.json()["detail"] in _problem(page, "classify")
        _screenshot(page, "classify")
        return
    result = api.json()["results"][0]
    assert _submit(page, "classify", "Classify") == "done"
    assert _one(page, "#classify-results .predicted").text == result["label"]
    rows = _by_css(page, "#classify-results .bar-row")
    assert [r.get_attribute("data-label") for r in rows] == sorted(result["probabilities"],
                                                                   key=result["probabilities"].get, reverse=True)
    widths = [r.find_element("css selector", ".bar-fill").size["width"] for r in rows]
    assert widths == sorted(widths, reverse=True) and widths[0] > 0
    assert "winner" in rows[0].get_attribute("class")
    # Every evidence n-gram is highlighted exactly over its character span.
    marks = _by_css(page, "#classify-results mark.ev")
    assert marks and result["evidence"]
    for i, ev in enumerate(result["evidence"]):
        covered = "".join(m.get_attribute("textContent") if str(i) in m.get_attribute("data-evidence").split() else "\0" for m in marks)
        assert ev["text"] in covered.split("\0"), (ev, covered)
    assert _one(page, "#classify-results .evidence-text").text == text
    _screenshot(page, "classify")

    # An error: a pasted text over the service's character limit.
    huge = "why " * 25_001
    page.execute_script("document.getElementById('cls-text').value = arguments[0]", huge)
    assert _submit(page, "classify", "Classify") == "error"
    problem = _api(server, "/v1/classify", {"text": huge}).json()
    assert problem["detail"] in _problem(page, "classify") and f"limit {problem['limit']}" in _problem(page, "classify")


@slow
def test_translate_panel(page, server):
    _open_tab(page, "translate")
    text = "Where is the train station?"
    _type(page, "#tr-text", text)
    _one(page, 'label.inline input[value="greedy"]').click()
    assert not _one(page, "#tr-beam-size").is_enabled()  # the beam size only matters for beam search
    assert _submit(page, "translate", "Translate") == "done"
    api = _api(server, "/v1/translate", {"text": text, "beam_size": 1, "return_attention": True}).json()["results"][0]
    assert _one(page, "#translate-results .translation").text == api["text"] != ""
    assert "greedy decoding" in _one(page, "#translate-results .facts").text
    rows, cols = len(api["tokens"]), len(api["source_tokens"])
    heatmap = _one(page, "#translate-results svg.heatmap")
    cells = heatmap.find_elements("css selector", "g.cell")
    assert len(cells) == rows * cols and rows > 1 and cols > 1
    assert [c.text for c in heatmap.find_elements("css selector", "text.row-label")] == api["tokens"]
    assert [c.text for c in heatmap.find_elements("css selector", "text.col-label")] == \
        [t["text"] for t in api["source_tokens"]]
    # The darkest cell of each row is where the model attended most.
    for i, row in enumerate(api["attention"]):
        j = max(range(cols), key=row.__getitem__)
        title = heatmap.find_element("css selector", f'g.cell[data-row="{i}"][data-col="{j}"] title')
        assert title.get_attribute("textContent").startswith(f"{api['tokens'][i]} → {api['source_tokens'][j]['text']}")

    _one(page, 'label.inline input[value="beam"]').click()
    _type(page, "#tr-beam-size", "4")
    assert _submit(page, "translate", "Translate") == "done"
    assert "beam search, beam size 4" in _one(page, "#translate-results .facts").text
    beam = _api(server, "/v1/translate", {"text": text, "beam_size": 4}).json()["results"][0]
    assert _one(page, "#translate-results .translation").text == beam["text"]

    _one(page, "#translate-results .server-svg").location_once_scrolled_into_view
    _one(page, "#translate-results button.secondary").click()  # the server's own SVG, for comparison
    _wait(page, lambda d: d.execute_script(
        "const i = document.querySelector('#translate-results .server-svg img'); return !!i && i.naturalWidth > 0"))
    _screenshot(page, "translate")

    # An error: over the model's 100-token limit.
    _type(page, "#tr-text", "word " * 120)
    assert _submit(page, "translate", "Translate") == "error"
    detail = _api(server, "/v1/translate", {"text": "word " * 120, "beam_size": 4}).json()["detail"]
    assert detail in _problem(page, "translate")


@slow
def test_phone_width(page):
    """At 375 px every panel, with its results, fits: no horizontal page scroll."""
    page.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                         {"width": 375, "height": 812, "deviceScaleFactor": 1, "mobile": False})
    page.refresh()
    _wait(page, lambda d: d.execute_script("return document.documentElement.dataset.ready === 'true'"))
    assert page.execute_script("return window.innerWidth") == 375
    fits = "return document.scrollingElement.scrollWidth <= window.innerWidth"
    assert page.execute_script(fits)
    for tab in _by_css(page, '[role="tab"]'):  # every tab is in view, none scrolled away
        assert 0 <= tab.rect["x"] and tab.rect["x"] + tab.rect["width"] <= 375, (tab.text, tab.rect)
    for panel, button in (("tokens", "Tokenize"), ("senses", "Compare"), ("classify", "Classify"),
                          ("translate", "Translate")):
        _open_tab(page, panel)
        _submit(page, panel, button)  # classify may answer with an error when no classifier ships: it must fit too
        assert page.execute_script(fits), (panel, page.execute_script(
            "return [document.scrollingElement.scrollWidth, window.innerWidth]"))
        _screenshot(page, f"phone-{panel}")
    page.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
