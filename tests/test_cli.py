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


def test_the_serving_task_name_reaches_its_trainer(capsys):
    """One task name everywhere: `train classify` is `train classifier`."""
    with pytest.raises(SystemExit) as info:
        main(["train", "classify", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["train", "classifier", "--help"])
    assert capsys.readouterr().out == out
