"""Optional API keys: ``Authorization: Bearer <key>`` checked before anything else runs.

Keys come from ``LEXIFLOW_API_KEYS`` (a JSON list) and/or ``LEXIFLOW_API_KEYS_FILE`` (one key per
line, ``#`` comments). With no key configured, access is open. Missing or malformed credentials
get 401 with ``WWW-Authenticate: Bearer``; a key that matches none gets 403. Every configured key
is compared in constant time (``hmac.compare_digest``) and all of them are always compared, so the
timing tells nothing about which key, or how much of one, matched. Paths listed as open (health,
metrics, docs, the web page by default) need no key.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from pathlib import Path

from starlette.types import ASGIApp, Receive, Scope, Send

from service.errors import problem_body
from service.middleware import header_value, send_problem

MIN_KEY_CHARS = 16


def read_keys(inline: Iterable[str], file: Path | None) -> list[str]:
    """The configured keys; refuses short keys and unreadable files at startup, naming them."""
    keys = [k.strip() for k in inline if k.strip()]
    if file is not None:
        try:
            lines = file.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ValueError(f"{file}: cannot read the API keys file ({exc.strerror})") from exc
        keys += [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    short = [i for i, k in enumerate(keys) if len(k) < MIN_KEY_CHARS]
    if short:
        raise ValueError(f"API keys must have at least {MIN_KEY_CHARS} characters (keys number {short} are shorter)")
    return keys


def _digest(value: bytes) -> bytes:
    return hashlib.sha256(value).digest()  # equal lengths for compare_digest, whatever was sent


def is_open(path: str, open_paths: Sequence[str]) -> bool:
    """``/x`` opens exactly /x; ``/x/*`` opens /x and everything under it."""
    for p in open_paths:
        if p.endswith("/*"):
            base = p[:-2]
            if path == base or path.startswith(base + "/"):
                return True
        elif path == p:
            return True
    return False


class ApiKeyMiddleware:
    def __init__(self, app: ASGIApp, *, keys: Sequence[str], open_paths: Sequence[str]) -> None:
        self.app = app
        self._digests = [_digest(k.encode("utf-8")) for k in keys]
        self.open_paths = tuple(open_paths)

    def _matches(self, token: bytes) -> bool:
        d = _digest(token)
        ok = False
        for known in self._digests:  # no early exit
            ok |= hmac.compare_digest(d, known)
        return ok

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._digests or scope["method"] == "OPTIONS" \
                or is_open(scope["path"], self.open_paths):
            await self.app(scope, receive, send)  # OPTIONS: CORS preflights carry no credentials
            return
        rid = scope.get("state", {}).get("request_id")
        auth = header_value(scope, b"authorization") or b""
        scheme, _, token = auth.partition(b" ")
        if scheme.lower() != b"bearer" or not token.strip():
            body = problem_body(401, "unauthorized", "this service needs an API key: send "
                                "`Authorization: Bearer <key>`", instance=scope["path"], request_id=rid)
            await send_problem(send, 401, body, rid, extra_headers=[(b"www-authenticate", b'Bearer realm="lexiflow"')])
            return
        if not self._matches(token.strip()):
            body = problem_body(403, "forbidden", "the API key is not valid for this service",
                                instance=scope["path"], request_id=rid)
            await send_problem(send, 403, body, rid)
            return
        await self.app(scope, receive, send)
