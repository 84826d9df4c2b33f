"""pipelines.name_copy: attention-guided repair of names the model garbled."""

from __future__ import annotations

from pipelines.name_copy import name_positions, repair_names

COMMON = {"please", "tell", "the", "we"}.__contains__


def one_hot(rows: int, cols: int, argmax: list[int]) -> list[list[float]]:
    out = []
    for i in range(rows):
        row = [0.1 / max(1, cols - 1)] * cols
        row[argmax[i]] = 0.9
        out.append(row)
    return out


def test_name_positions_skip_common_sentence_initial_words():
    assert name_positions(["Please", "tell", "Olga", "."], COMMON) == [2]
    assert name_positions(["Svetlana", "called", "."], COMMON) == [0]
    assert name_positions(["I", "met", "McDonald", "and", "NASA"], COMMON) == [2]  # not "I", not all-caps
    assert name_positions(["Hi", ".", "Tell", "Ann"], COMMON) == [0, 3]


def test_a_garbled_name_is_replaced_by_the_source_name():
    src = ["Svetlana", "called", "me", "yesterday", "."]
    tgt = ["Svetana", "me", "llamó", "ayer", "."]
    words, done = repair_names(src, tgt, one_hot(5, 5, [0, 2, 1, 3, 4]), COMMON)
    assert words == ["Svetlana", "me", "llamó", "ayer", "."] and done == [("Svetana", "Svetlana")]


def test_nothing_changes_when_the_name_is_there_or_nothing_looks_like_it():
    src = ["We", "met", "Tom", "at", "the", "station", "."]
    assert repair_names(src, ["Conocimos", "a", "Tom", "."], one_hot(4, 7, [1, 2, 2, 6]), COMMON)[1] == []
    # the word aligned to the name is an ordinary lowercase word, unlike the name: left alone
    src = ["We", "met", "Fatima", "."]
    words, done = repair_names(src, ["Nos", "conocimos", "ayer", "."], one_hot(4, 4, [0, 1, 2, 3]), COMMON)
    assert done == [] and words == ["Nos", "conocimos", "ayer", "."]


def test_each_output_word_is_replaced_at_most_once():
    src = ["Anna", "and", "Peter", "."]
    tgt = ["Ana", "y", "Pet", "."]
    words, done = repair_names(src, tgt, one_hot(4, 4, [0, 1, 2, 3]), COMMON)
    assert words == ["Anna", "y", "Peter", "."] and len(done) == 2
    assert repair_names(src, tgt, [], COMMON) == (tgt, [])
