"""POST /v1/senses/disambiguate and the WordNet-labelled /v1/senses/compare, through the real app."""

from __future__ import annotations

import numpy as np
import pytest


from tasks.senses import DisambiguateResponse, SensesResponse

MAX_DISAMBIGUATE_SENTENCES = 64  # the cap of POST /v1/senses/disambiguate (the default max_items is higher)

PROBLEM = "application/problem+json"
MONEY = "I deposited my salary at the bank this morning."
RIVER = "We had a picnic on the grassy bank of the river."

pytestmark = pytest.mark.slow


def problem(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    return r.json()


def test_disambiguate_bank(client):
    r = client.post("/v1/senses/disambiguate", json={"target": "bank", "sentences": [MONEY, RIVER], "top_k": 3})
    assert r.status_code == 200, r.text
    body = DisambiguateResponse.model_validate(r.json()).model_dump()
    assert body["known"] is True and body["inventory"] == "wordnet-3.0"
    assert [res["sentence"] for res in body["results"]] == [0, 1]
    money, river = (res["occurrences"][0] for res in body["results"])
    assert MONEY[money["start"]:money["end"]] == "bank" and money["wordnet_pos"] == "n"
    assert money["candidates"][0]["synset"] == "08420278-n" and river["candidates"][0]["synset"] == "09213565-n"
    assert len(money["candidates"]) == 3
    assert 0 < money["candidates"][0]["score"] <= 1


def test_a_multiword_target_is_answered(client):
    r = client.post("/v1/senses/compare", json={"target": "hot dog", "sentences": [
        "I ate a hot dog with mustard at the game.", "Grill the hot dogs and toast the buns.",
        "He is such a hot dog on the ski slopes, always showing off."]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [o["text"] for o in body["occurrences"]] == ["hot dog", "hot dogs", "hot dog"]
    assert body["occurrences"][0]["lemma"] == "hot dog" and body["num_senses"] == 2
    assert [s["sentences"] for s in body["senses"]] == [[0, 1], [2]]


def test_disambiguate_unknown_word_is_not_an_error(client):
    r = client.post("/v1/senses/disambiguate", json={"target": "zorblax", "sentences": ["A zorblax glowed."]})
    body = DisambiguateResponse.model_validate(r.json()).model_dump()
    assert r.status_code == 200 and body["known"] is False and "not in WordNet" in body["note"]
    assert body["results"][0]["occurrences"][0]["candidates"] == []


@pytest.mark.parametrize("payload,status,field", [
    ({"target": "bank", "sentences": ["The bank is closed.", "I like pizza."]}, 422, None),
    ({"target": "bank", "sentences": ["bank"] * 10_000}, 422, None),
    ({"target": "", "sentences": ["a bank"]}, 422, None),
    ({"target": "bank", "sentences": [""]}, 422, None),
    ({"target": "bank", "sentences": []}, 422, None),
    ({"target": "bank", "sentences": ["a bank"], "pos": "x"}, 422, None),
    ({"target": "one two three four five six seven eight nine", "sentences": ["one two three"]}, 422, None),
])
def test_disambiguate_bad_input_is_problem_json(client, payload, status, field):
    body = problem(client.post("/v1/senses/disambiguate", json=payload), status)
    assert body["status"] == status and body["detail"]


def test_disambiguate_limit_is_named(client):
    n = MAX_DISAMBIGUATE_SENTENCES + 1
    body = problem(client.post("/v1/senses/disambiguate", json={"target": "bank", "sentences": ["a bank"] * n}), 422)
    assert str(MAX_DISAMBIGUATE_SENTENCES) in str(body) and str(n) in str(body)
    missing = problem(client.post("/v1/senses/disambiguate", json={
        "target": "bank", "sentences": ["The bank is closed.", "I like pizza."]}), 422)
    assert missing["given"] == [1]


def test_compare_groups_are_wordnet_senses(client):
    sentences = [MONEY, "The bank raised its interest rates on loans again.", RIVER,
                 "The fisherman sat on the muddy bank and watched the stream."]
    r = client.post("/v1/senses/compare", json={"target": "bank", "sentences": sentences})
    assert r.status_code == 200, r.text
    body = SensesResponse.model_validate(r.json()).model_dump()
    by_members = {tuple(s["sentences"]): s["sense"]["synset"] for s in body["senses"]}
    assert by_members == {(0, 1): "08420278-n", (2, 3): "09213565-n"}
    assert np.allclose(np.diag(body["contextual"]["p_same"]), 1.0)
    assert [o["sense"]["synset"] for o in body["occurrences"]] == ["08420278-n"] * 2 + ["09213565-n"] * 2
    assert len(body["projection"]["senses"]) == 2 and body["method"]


def test_readme_bank_example_is_the_real_answer(client):
    """The README's /v1/senses/disambiguate example (shortened JSON): its synsets and scores are the real ones."""
    import json
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index('### POST /v1/senses/disambiguate: which "bank"?'):]
    request = json.loads(re.search(r"-d '(\{.*?\})'", section, re.S).group(1).replace("\n", " "))
    shown = re.findall(r'"synset": "([0-9]{8}-[nvasr])".*?"score": ([0-9.]+)', re.search(
        r"```json\n(.*?)\n```", section, re.S).group(1), re.S)
    r = client.post("/v1/senses/disambiguate", json=request)
    assert r.status_code == 200, r.text
    real = [(c["synset"], c["score"]) for res in r.json()["results"] for o in res["occurrences"]
            for c in o["candidates"]]
    assert [s for s, _ in shown] == [s for s, _ in real]
    # the encoder backend (PyTorch or ONNX Runtime fp32) may move the 4th decimal
    assert np.allclose([float(p) for _, p in shown], [p for _, p in real], atol=2e-3)


def test_a_paragraph_longer_than_the_model_is_answered(client):
    filler = "The committee met on Tuesday to discuss the schedule for the coming season. " * 40
    text = filler + MONEY + " " + filler
    r = client.post("/v1/senses/compare", json={"target": "bank", "sentences": [text, RIVER, MONEY]})
    assert r.status_code == 200, r.text
    body = r.json()
    first = body["occurrences"][0]
    assert text[first["start"]:first["end"]] == "bank" and first["start"] > 2000
    assert first["sense"]["synset"] == "08420278-n"
    assert body["num_senses"] == 2


def test_too_many_occurrences_is_problem_json_with_the_limit(client):
    from pipelines.limits import MAX_OCCURRENCES

    r = client.post("/v1/senses/disambiguate", json={"target": "bank", "sentences": ["The bank. " * 300]})
    body = problem(r, 422)
    assert body["type"].endswith("/too-many-occurrences") and body["limit"] == MAX_OCCURRENCES and body["given"] == 300
    r = client.post("/v1/senses/compare", json={"target": "bank", "sentences": ["The bank. " * 200] * 2})
    assert problem(r, 422)["given"] == 400
