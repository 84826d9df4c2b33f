from __future__ import annotations

import subprocess
import sys

import pytest

from lexiflow.cli import build_parser, main


def test_serve_flags_parse():
    args = build_parser().parse_args(["serve", "--host", "0.0.0.0", "--port", "9000", "--workers", "2"])
    assert (args.host, args.port, args.workers) == ("0.0.0.0", 9000, 2)


def test_serve_refuses_unknown_flags():
    with pytest.raises(SystemExit) as info:
        main(["serve", "--bogus"])
    assert info.value.code == 2


def test_train_names_its_tasks():
    with pytest.raises(SystemExit):
        main(["train", "nonsense"])


def test_console_script_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "lexiflow", "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert "serve" in out.stdout and "train" in out.stdout and "eval" in out.stdout


def test_task_help_reaches_the_task_parser(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "seq2seq", "--help"])
    assert info.value.code == 0
    assert "--attention" in capsys.readouterr().out


def test_a_step_a_task_lacks_is_refused():
    with pytest.raises(SystemExit):
        main(["train", "senses"])


def test_version(capsys):
    from importlib import metadata

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    out = capsys.readouterr().out.strip()
    try:
        expected = metadata.version("lexiflow")
    except metadata.PackageNotFoundError:
        expected = "0.0.0+local"
    assert out == f"lexiflow {expected}"


@pytest.mark.parametrize("kind, tasks", [("eval", ("classifier", "seq2seq", "senses", "word2vec")),
                                         ("train", ("classifier", "seq2seq", "word2vec"))])
def test_train_and_eval_help_describe_their_tasks(capsys, kind, tasks):
    with pytest.raises(SystemExit) as info:
        main([kind, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for task in tasks:  # each task on its own line with a description after it
        line = next((ln for ln in out.splitlines() if ln.strip().startswith(task)), None)
        assert line is not None, out
    assert "BLEU" in out if kind == "eval" else "word2vec" in out
    assert len([ln for ln in out.splitlines() if ln.strip()]) > len(tasks) + 6, out


HELP_COMMANDS = [[], ["serve"], ["serve-ray"], ["train"], ["eval"], ["batch"],
                 *(["train", t] for t in ("classifier", "seq2seq", "word2vec")),
                 *(["eval", t] for t in ("classifier", "seq2seq", "senses", "word2vec")),
                 *(["batch", t] for t in ("lemmatize", "tokenize", "embed", "classify", "translate"))]


@pytest.mark.parametrize("argv", HELP_COMMANDS, ids=lambda a: " ".join(a) or "lexiflow")
def test_no_rest_markup_in_any_help(capsys, argv):
    with pytest.raises(SystemExit) as info:
        main([*argv, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage:"), out[:200]
    assert "`" not in out, [ln for ln in out.splitlines() if "`" in ln]


def test_the_serving_task_name_reaches_its_trainer(capsys):
    """One task name everywhere: `train classify` is `train classifier`."""
    with pytest.raises(SystemExit) as info:
        main(["train", "classify", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["train", "classifier", "--help"])
    assert capsys.readouterr().out == out
