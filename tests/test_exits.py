"""One exit path for every command line: an expected error is one line naming the file, key or
value and exit 2 (3 for a non-finite stop); --debug shows the traceback; a bug keeps its traceback."""

from __future__ import annotations

import importlib

import pytest

from seqclr.cli import COMMANDS
from seqclr.config import ParameterError
from seqclr.exits import EXIT_ERROR, EXIT_NONFINITE, guarded
from seqclr.train.checkpoint import CheckpointError
from seqclr.train.loop import NonFiniteLossError

ENTRY_POINTS = [module for module, _, _ in COMMANDS.values()] + [
    "seqclr.train.drill", "seqclr.evaluate.diagnostics", "seqclr.evaluate.ablation", "seqclr.evaluate.recipe_sweep",
]


@pytest.mark.parametrize("module", ENTRY_POINTS)
def test_every_entry_point_is_guarded(module):
    main = importlib.import_module(module).main
    assert getattr(main, "__wrapped__", None) is not None, f"{module}.main is not wrapped by seqclr.exits.guarded"


@pytest.mark.parametrize("err, code", [
    (ParameterError("lr must be > 0, got -1"), EXIT_ERROR),
    (CheckpointError("/x/last.pt: unreadable checkpoint"), EXIT_ERROR),
    (FileNotFoundError(2, "No such file or directory", "/x/data.tsv"), EXIT_ERROR),
    (NonFiniteLossError("pretrain: non-finite loss nan at step 4", 4), EXIT_NONFINITE),
])  # fmt: skip
def test_expected_errors_are_one_line_and_a_code(err, code, capsys):
    def main(argv):
        raise err

    assert guarded(main)([]) == code
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(err.args[-1] if isinstance(err, OSError) else err)[:10] in lines[0]
    with pytest.raises(type(err)):
        guarded(main)(["--debug"])


def test_a_bug_keeps_its_traceback_and_debug_is_stripped():
    seen = []

    def main(argv):
        seen.append(argv)
        raise KeyError("bug")

    with pytest.raises(KeyError):
        guarded(main)(["--lr", "1", "--debug"])
    assert seen == [["--lr", "1"]]


def test_pretrain_cli_errors(tmp_path, capsys):
    from seqclr.train.pretrain import main

    assert main(["--lr", "fast"]) == EXIT_ERROR
    assert capsys.readouterr().err.strip() == "error: command line: parameter 'lr' must be float, got 'fast' (str)"
    blocker = tmp_path / "file"
    blocker.write_text("")
    tiny = ["--train_size", "8", "--width", "32", "--batch_size", "4", "--iterations", "1", "--progress", "false"]
    assert main([*tiny, "--output_dir", str(blocker / "run")]) == EXIT_ERROR  # a file where a folder must go
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(blocker) in err[0]


def test_read_and_evaluate_cli_name_the_bad_file(tmp_path, capsys):
    from seqclr.evaluate.__main__ import main as evaluate
    from seqclr.evaluate.read import main as read

    bad = tmp_path / "recognizer.pt"
    bad.write_bytes(b"not a checkpoint")
    assert read([str(bad), str(tmp_path)]) == EXIT_ERROR
    assert str(bad) in capsys.readouterr().err.strip().splitlines()[-1]
    missing = tmp_path / "nothing" / "encoder.pt"
    assert evaluate(["finetune", "--checkpoint", str(missing), "--iterations", "1"]) == EXIT_ERROR
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and str(missing) in lines[0]


def test_help_lists_every_parameter_with_its_default_and_meaning(capsys):
    """`seqclr pretrain --help` / `seqclr evaluate PROTOCOL --help`: each config field, its default
    and the one-line meaning written beside it in the config class."""
    import dataclasses

    from seqclr.cli import main
    from seqclr.evaluate.config import FinetuneConfig
    from seqclr.train.config import PretrainConfig

    with pytest.raises(SystemExit) as exit_:
        main(["pretrain", "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for f in dataclasses.fields(PretrainConfig):
        assert f"--{f.name} " in text, f.name
    assert "--batch_size int (default: 32)\n      global: split evenly over ranks" in text
    assert main(["evaluate", "finetune", "--help"]) == 0
    text = capsys.readouterr().out
    assert all(f"--{f.name} " in text for f in dataclasses.fields(FinetuneConfig))
    assert "--label_fraction" in text and "(default: " in text


def test_pack_cli_existing_target_is_one_line(tmp_path, capsys):
    from seqclr.cli_pack import main as pack

    target = tmp_path / "pack"
    target.mkdir()
    assert pack(["synthetic-handwriting", str(target), "--size", "2"]) == EXIT_ERROR
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and str(target) in lines[0] and "--overwrite" in lines[0]
