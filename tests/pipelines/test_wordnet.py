"""The WordNet sense inventory: the builder's parsing, its file format, and the reader (tiny inventories
built here from WordNet-format lines), plus the committed artifact's invariants."""

from __future__ import annotations

import hashlib
import json

import pytest

from pipelines.errors import ResourceError
from pipelines.wordnet import FORMAT, SenseInventory
from training.wordnet import (LEXNAMES, _related, parse_data_line, parse_gloss, read_index_line, read_tag_counts,
                              serialize)

# two real WordNet 3.0 lines (data.noun), shortened pointer lists are still valid wndb lines
RIVER = ("09213565 17 n 01 bank 0 001 @ 09366017 n 0000 | sloping land (especially the slope beside a body of "
         'water); "they pulled the canoe up on the bank"; "he sat on the bank of the river and watched the currents"')
MONEY = ("08420278 14 n 04 depository_financial_institution 0 bank 0 banking_concern 0 banking_company 0 "
         '001 @ 08054721 n 0000 | a financial institution that accepts deposits and channels the money into '
         'lending activities; "he cashed a check at the bank"; "that bank holds the mortgage on my home"')
TIP = ('02039413 38 v 01 bank 0 001 @ 01970348 v 0000 01 + 01 00 | tip laterally; "the pilot had to bank '
       'the aircraft"')


def tiny_inventory() -> dict:
    synsets = {}
    for line in (RIVER, MONEY, TIP):
        sid, r = parse_data_line(line)
        synsets[sid] = [r["lex"], r["lemmas"], r["definition"], r["examples"]]
    index = {"bank": {"n": ["09213565-n", "08420278-n"], "v": ["02039413-v"], "tags": {"n": [25, 20], "v": [0]}},
             "banking_concern": {"n": ["08420278-n"]}}
    return {"format": FORMAT, "source": "test", "lexnames": list(LEXNAMES), "synsets": synsets, "index": index}


def test_parse_gloss_splits_definition_and_examples():
    definition, examples = parse_gloss('tip laterally; "the pilot had to bank the aircraft"; "bank left"')
    assert definition == "tip laterally"
    assert examples == ["the pilot had to bank the aircraft", "bank left"]
    assert parse_gloss("a definition without examples") == ("a definition without examples", [])


def test_parse_data_line_fields():
    sid, r = parse_data_line(MONEY)
    assert sid == "08420278-n"
    assert LEXNAMES[r["lex"]] == "noun.group"
    assert r["lemmas"] == ["depository_financial_institution", "bank", "banking_concern", "banking_company"]
    assert r["definition"].startswith("a financial institution") and len(r["examples"]) == 2


def test_parse_data_line_keeps_pointers():
    assert parse_data_line(MONEY)[1]["pointers"] == [("@", "08054721", "n")]
    _, tip = parse_data_line(TIP)
    assert tip["pointers"][0] == ("@", "01970348", "v") and len(tip["pointers"]) == 1


def test_related_splits_kinds_orders_hyponyms_and_resolves_satellites():
    by_offset = {("1", "n"): "1-n", ("2", "n"): "2-n", ("3", "n"): "3-n", ("4", "a"): "4-s", ("5", "n"): "5-n"}
    pointers = [("@", "1", "n"), ("~", "2", "n"), ("~i", "3", "n"), ("&", "4", "s"), ("!", "5", "n"),
                ("@", "9", "n")]  # an antonym (!) is not kept; an unknown target is dropped
    hyper, hypo, other = _related(pointers, by_offset, {"3-n": 7, "2-n": 1})
    assert hyper == ["1-n"] and hypo == ["3-n", "2-n"] and other == ["4-s"]


def test_read_tag_counts_from_index_sense():
    tags = read_tag_counts(["bank%1:17:01:: 09213565 1 25", "bank%2:38:00:: 02039413 1 0",
                            "fine%5:00:00:good:01 01123148 4 3"])
    assert tags == {("bank", "n", "09213565"): 25, ("bank", "v", "02039413"): 0, ("fine", "a", "01123148"): 3}


def test_read_index_line_keeps_sense_order():
    lemma, offsets = read_index_line("bank n 3 2 @ ~ 3 1 09213565 08420278 09213434")
    assert lemma == "bank" and offsets == ["09213565", "08420278", "09213434"]


def test_round_trip_and_lookups(tmp_path):
    data = serialize(tiny_inventory())
    inv = SenseInventory.from_lines(__import__("gzip").decompress(data).decode())
    senses = inv.senses("Bank")
    assert [(s.synset, s.pos, s.sense_number) for s in senses] == [
        ("09213565-n", "n", 1), ("08420278-n", "n", 2), ("02039413-v", "v", 1)]
    money = inv.senses("bank", "n")[1]
    assert money.lexname == "noun.group" and money.examples[0] == "he cashed a check at the bank"
    assert [s.tag_count for s in senses] == [25, 20, 0]
    assert money.gloss_text("bank") == ("bank (depository financial institution, banking concern, banking company): "
                                        "a financial institution that accepts deposits and channels the money into "
                                        "lending activities")
    assert inv.senses("bank", "v")[0].lexname == "verb.motion"
    assert inv.senses("banking concern")[0].synset == "08420278-n"  # spaces become underscores
    assert inv.senses("xyzzy") == () and "xyzzy" not in inv and inv.parts_of_speech("bank") == ("n", "v")
    assert money.related == ()  # records without relations (a v1 inventory) read as none


def test_relations_round_trip():
    tiny = tiny_inventory()
    tiny["synsets"]["08420278-n"] = [*tiny["synsets"]["08420278-n"], [["08054721-n"], [], ["09213565-n"]]]
    inv = SenseInventory.from_lines(__import__("gzip").decompress(serialize(tiny)).decode())
    money = inv.senses("bank", "n")[1]
    assert money.related == (("08054721-n",), (), ("09213565-n",))
    assert inv.lemma_names("09213565-n") == ("bank",) and inv.definition("09213565-n").startswith("sloping land")


def test_load_checks_format_and_checksum(tmp_path):
    data = serialize(tiny_inventory())
    (tmp_path / "senses.tsv.gz").write_bytes(data)
    config = {"format": FORMAT, "file": "senses.tsv.gz", "sha256": hashlib.sha256(data).hexdigest(),
              "synsets": 3, "lemmas": 2}
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert len(SenseInventory.load(tmp_path)) == 2
    (tmp_path / "config.json").write_text(json.dumps({**config, "sha256": "0" * 64}))
    with pytest.raises(ResourceError, match="sha256"):
        SenseInventory.load(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({**config, "format": "other"}))
    with pytest.raises(ResourceError, match="format"):
        SenseInventory.load(tmp_path)
    with pytest.raises(ResourceError, match="training.wordnet"):
        SenseInventory.load(tmp_path / "missing")


def test_shipped_inventory_matches_wordnet_30():
    """The committed artifact: WordNet 3.0's counts and its sense order for 'bank'."""
    from pipelines.loading import DEFAULT_WORDNET

    config = json.loads((DEFAULT_WORDNET / "config.json").read_text())
    assert config["synsets"] == 117659 and config["bytes"] < 50_000_000
    assert (DEFAULT_WORDNET / "LICENSE").read_text().startswith("WordNet Release 3.0")
    inv = SenseInventory.load(DEFAULT_WORDNET)
    nouns = inv.senses("bank", "n")
    assert len(nouns) == 10 and nouns[0].synset == "09213565-n" and nouns[1].synset == "08420278-n"
    assert len(inv.senses("bank", "v")) == 8
    assert inv.senses("cat", "n")[0].tag_count == 18  # SemCor count of cat#n1 in index.sense
    flora = next(s for s in inv.senses("plant", "n") if s.synset == "00017222-n")
    hyper, hypo, _ = flora.related
    assert hyper == ("00004475-n",) and inv.lemma_names(hyper[0])[0] == "organism"
    assert 0 < len(hypo) <= 12
    assert len(inv.senses("bank", "n")[1].related[0]) >= 1  # the money bank's hypernym (financial institution)


def _write_artifact(folder, tiny):  # noqa: ANN001, ANN202
    data = serialize(tiny)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "senses.tsv.gz").write_bytes(data)
    (folder / "config.json").write_text(json.dumps({"format": FORMAT, "file": "senses.tsv.gz",
                                                    "sha256": hashlib.sha256(data).hexdigest()}))
    return data


def test_records_are_found_by_binary_search_in_any_order():
    lines = [json.dumps({"format": FORMAT, "lexnames": list(LEXNAMES)}),
             "i\tzebra\t{}", "s\t2-n\t[1]", "i\tapple\t{\"n\": [\"1-n\"]}", "s\t1-n\t[0]", "i\tzebra\t{\"v\": []}", ""]
    inv = SenseInventory.from_lines("\n".join(lines))
    assert inv.lemmas() == ["apple", "zebra"] and len(inv) == 2
    assert inv._index.get("zebra") == '{"v": []}'  # a repeated key: the last record wins, as in a dict
    assert "apple" in inv and "apples" not in inv and inv._synsets["1-n"] == "[0]"
    with pytest.raises(ResourceError, match="line 3"):
        SenseInventory.from_lines("\n".join(lines[:2] + ["x\tbad\t{}"] + lines[2:]))
    with pytest.raises(ResourceError, match="line 2"):
        SenseInventory.from_lines("\n".join(lines[:1] + ["i\tno-value"]))


def test_cache_maps_the_records_and_is_rebuilt_when_damaged(tmp_path):
    import mmap

    raw = _write_artifact(tmp_path / "wn", tiny_inventory())
    plain = SenseInventory.load(tmp_path / "wn")
    built = SenseInventory.load(tmp_path / "wn", cache_dir=tmp_path / "cache")
    stem = tmp_path / "cache" / "wordnet" / hashlib.sha256(raw).hexdigest()
    assert stem.with_suffix(".tsv").is_file() and stem.with_suffix(".s.npy").is_file()
    mapped = SenseInventory.load(tmp_path / "wn", cache_dir=tmp_path / "cache")
    assert isinstance(mapped._synsets.buf, mmap.mmap)
    for inv in (built, mapped):
        assert inv.senses("bank") == plain.senses("bank") and inv.lemmas() == plain.lemmas()
    stem.with_suffix(".s.npy").write_bytes(b"not numpy")
    again = SenseInventory.load(tmp_path / "wn", cache_dir=tmp_path / "cache")
    assert again.senses("bank") == plain.senses("bank")


def test_a_cache_that_cannot_be_written_falls_back_to_memory(tmp_path):
    _write_artifact(tmp_path / "wn", tiny_inventory())
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder would go")
    inv = SenseInventory.load(tmp_path / "wn", cache_dir=blocker)
    assert isinstance(inv._synsets.buf, bytes) and inv.senses("bank")[0].synset == "09213565-n"
