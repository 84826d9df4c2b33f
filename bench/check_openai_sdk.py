"""The official OpenAI Python client against a running lexiflow: models.list, models.retrieve (an
id with a slash), embeddings.create (texts, token ids, base64, dimensions, lexiflow's own options
through extra_body) and the error message the client shows.

    python -m venv /tmp/oai && /tmp/oai/bin/pip install openai
    lexiflow serve --port 8000 &                      # in the project's environment
    /tmp/oai/bin/python bench/check_openai_sdk.py --base-url http://127.0.0.1:8000/v1

Prints one line per check and exits 1 if any fails. Needs only the openai package, so it runs in
a throwaway environment, never the project's.
"""

from __future__ import annotations

import argparse
import base64
import math
import struct
import sys


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base-url", default="http://127.0.0.1:8000/v1")
    args = ap.parse_args(argv)
    import openai

    client = openai.OpenAI(base_url=args.base_url, api_key="not-needed", max_retries=0)
    failures = 0

    def check(name: str, ok: bool, got: object) -> None:
        nonlocal failures
        failures += not ok
        print(f"{'ok ' if ok else 'FAIL'} {name}: {got}")

    print(f"openai {openai.__version__} -> {args.base_url}")
    models = client.models.list()
    ids = [m.id for m in models.data]
    check("models.list() has data", bool(ids) and all(m.object == "model" for m in models.data), ids)
    encoder = next((i for i in ids if "MiniLM" in i), next(i for i in ids if "/" in i))  # the shipped encoder
    m = client.models.retrieve(encoder)
    check("models.retrieve(id with a slash)", (m.id, m.object, m.owned_by) == (encoder, "model", encoder.split("/")[0]),
          (m.id, m.object, m.created, m.owned_by))
    texts = ["The bank raised interest rates.", "We sat on the river bank."]
    e = client.embeddings.create(model=encoder, input=texts)
    v = [d.embedding for d in e.data]
    norm = math.sqrt(sum(x * x for x in v[0]))
    check("embeddings.create(texts)", len(v) == 2 and len(v[0]) == 384 and abs(norm - 1) < 1e-4,
          (len(v), len(v[0]), round(norm, 6), e.usage.prompt_tokens))
    b = client.embeddings.create(model=encoder, input=texts, encoding_format="base64", dimensions=384)
    raw = b.data[0].embedding
    if isinstance(raw, str):
        packed = base64.b64decode(raw)
        floats = list(struct.unpack(f"<{len(packed) // 4}f", packed))
    else:  # the SDK decodes base64 itself when it asked for it on the caller's behalf
        floats = raw
    check("embeddings.create(base64, dimensions=384)",
          len(floats) == 384 and max(abs(x - y) for x, y in zip(floats, v[0])) < 1e-5, len(floats))
    ids_in = [[1996, 2924, 2992, 3037, 6165, 1012]]  # "the bank raised interest rates." in this model's vocabulary
    t = client.embeddings.create(model=encoder, input=ids_in)
    dot = sum(x * y for x, y in zip(t.data[0].embedding, v[0]))
    check("embeddings.create(token ids) = the text's vector", dot > 0.9999, round(dot, 6))
    long = " ".join(["the bank by the river raised its rates"] * 40)
    try:
        client.embeddings.create(model=encoder, input=long)
        check("too many tokens is an error", False, "no error")
    except openai.UnprocessableEntityError as exc:
        check("too many tokens: the SDK shows the message", "truncate" in str(exc) and exc.code == "too_many_tokens",
              str(exc)[:160])
    cut = client.embeddings.create(model=encoder, input=long, extra_body={"truncate": True})
    check("extra_body truncate: true", len(cut.data) == 1 and cut.model_extra.get("truncated") == [0],
          cut.model_extra)
    try:
        client.models.retrieve("no-such-model")
        check("unknown model is an error", False, "no error")
    except openai.NotFoundError as exc:
        check("unknown model: the SDK shows the message", "not loaded" in str(exc) and exc.code == "model_not_found",
              str(exc)[:160])
    print(f"{failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
