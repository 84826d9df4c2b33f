"""pipelines.name_copy: attention-guided repair of names the model garbled."""

from __future__ import annotations

from pipelines.name_copy import missing_names, name_positions, repair_names

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


def test_a_name_cut_short_is_completed_even_when_the_cut_is_a_common_piece():
    common = {"tor", "Tor", "en", "vive"}.__contains__
    src = ["She", "lives", "in", "Toronto", "."]
    words, done = repair_names(src, ["Vive", "en", "Tor", "."], one_hot(4, 5, [1, 2, 3, 4]), common)
    assert words == ["Vive", "en", "Toronto", "."] and done == [("Tor", "Toronto")]
    # a deliberate translation is not a beginning of the name: left alone
    common = {"Londres", "londres", "en", "vive"}.__contains__
    src = ["She", "lives", "in", "London", "."]
    words, done = repair_names(src, ["Vive", "en", "Londres", "."], one_hot(4, 5, [1, 2, 3, 4]), common)
    assert done == [] and words[2] == "Londres"


def test_missing_names_lists_the_names_not_in_the_output():
    common = {"yesterday", "and", "visited"}.__contains__  # a common sentence-initial word is no name
    src = ["Yesterday", "Anna", "and", "Pedro", "visited", "London", "."]
    assert missing_names(src, ["Ayer", "Pedro", "visitó", "Londres", "."], common) == ["Anna", "London"]
    assert missing_names(src, ["Ayer", "Anna", "y", "Pedro", "visitaron", "London", "."], common) == []
