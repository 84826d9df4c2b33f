"""The page's static files, read as text (no browser): relative URLs only, nothing fetched from another
host, no HTML built from strings, and every file the page loads is packaged."""

from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "service" / "static"
FILES = sorted(p for p in STATIC.rglob("*") if p.is_file())
# Namespace names are identifiers, never fetched.
NAMESPACES = {"http://www.w3.org/2000/svg"}


def test_the_page_has_its_files():
    names = {p.name for p in FILES}
    assert {"index.html", "app.js", "style.css"} <= names


def test_no_absolute_or_protocol_relative_urls():
    pattern = re.compile(r"""(?:https?:)?//[\w.-]+(?::\d+)?[^\s"'`<>)]*""", re.I)
    found = []
    for path in FILES:
        text = path.read_text(encoding="utf-8")
        text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)  # CSS and JS block comments
        for line_no, line in enumerate(text.splitlines(), 1):
            code = re.sub(r"(^|\s)//\s.*$", "", line)  # JS line comments ("// text")
            for match in pattern.finditer(code):
                url = match.group(0)
                if url.rstrip(";,") in NAMESPACES or url.startswith("//") and url[2:3] in ("", " "):
                    continue
                found.append(f"{path.relative_to(ROOT)}:{line_no}: {url}")
    assert not found, found


def test_html_references_are_relative_and_exist():
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    refs = re.findall(r"""\b(?:src|href)="([^"]*)\"""", html)
    assert refs
    for ref in refs:
        assert not ref.startswith(("/", "http:", "https:")), ref
        if ref.startswith("static/"):
            assert (STATIC / ref.removeprefix("static/")).is_file(), ref


def test_scripts_ask_only_relative_api_paths():
    for path in STATIC.glob("*.js"):
        text = path.read_text(encoding="utf-8")
        for target in re.findall(r"""(?<![.\w])(?:post|get|call|fetch)\(\s*["'`]([^"'`]*)""", text):
            assert target.startswith("v1/"), f"{path.name}: {target}"
        for target in re.findall(r"""\bimport\b[^"']*["']([^"']+)["']""", text):
            assert target.startswith("./") and (STATIC / target[2:]).is_file(), f"{path.name}: {target}"


def test_no_html_from_strings():
    """Text reaches the DOM as text nodes: no innerHTML, outerHTML, insertAdjacentHTML or document.write."""
    for path in STATIC.glob("*.js"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function", text), path


def test_every_static_file_is_packaged():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = pyproject["tool"]["setuptools"]["package-data"]["service"]
    for path in FILES:
        rel = path.relative_to(ROOT / "service").as_posix()
        assert any(fnmatch(rel, g) and rel.count("/") == g.count("/") for g in globs), rel
