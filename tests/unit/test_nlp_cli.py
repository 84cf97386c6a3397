"""`cem sentiment`: command-line mistakes print one line that says what to fix (exit code 2), not a
traceback, and they are caught before any model is loaded or built."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from cem_pipeline.nlp.cli import main
from tests.support import REPO



@pytest.fixture
def no_model(tmp_path, monkeypatch) -> Path:
    """An empty model root and no CEM_SENTIMENT_MODEL: a command that got past its checks would build a model."""
    root = tmp_path / "models"
    monkeypatch.setenv("CEM_MODEL_DIR", str(root))
    monkeypatch.delenv("CEM_SENTIMENT_MODEL", raising=False)
    monkeypatch.delenv("CEM_SENTIMENT_RUNTIME", raising=False)
    return root


@pytest.fixture
def reviews(tmp_path) -> Path:
    path = tmp_path / "reviews.csv"
    pd.DataFrame({"review_id": [1, 2], "body": ["很好", "bad"]}).to_csv(path, index=False)
    return path


def one_line_error(capsys, *needles: str) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, err
    return err


def test_missing_input_file(tmp_path, no_model, capsys):
    assert main(["score", str(tmp_path / "nope.csv"), "--output", str(tmp_path / "out.csv")]) == 2
    one_line_error(capsys, "nope.csv", "no such file")
    assert not no_model.exists() and not (tmp_path / "out.csv").exists()


def test_missing_text_column_names_the_columns(reviews, tmp_path, no_model, capsys):
    assert main(["score", str(reviews), "--output", str(tmp_path / "out.csv")]) == 2
    one_line_error(capsys, "no column 'text'", "--text-column", "review_id, body")
    assert not no_model.exists()


def test_unknown_file_type(tmp_path, no_model, capsys):
    src = tmp_path / "reviews.txt"
    src.write_text("text\nhello\n")
    assert main(["score", str(src), "--output", str(tmp_path / "out.csv")]) == 2
    one_line_error(capsys, "reviews.txt", ".parquet")


def test_missing_model_dir(reviews, tmp_path, no_model, capsys):
    assert main(["score", str(reviews), "--text-column", "body", "--output", str(tmp_path / "out.csv"),
                 "--model-dir", str(tmp_path / "no-model")]) == 2
    one_line_error(capsys, "--model-dir", "no-model", "no such directory")


def test_bad_runtime_setting_fails_before_a_model_is_built(reviews, tmp_path, no_model, monkeypatch, capsys):
    monkeypatch.setenv("CEM_SENTIMENT_RUNTIME", "gpu")
    assert main(["score", str(reviews), "--text-column", "body", "--output", str(tmp_path / "out.csv")]) == 2
    one_line_error(capsys, "CEM_SENTIMENT_RUNTIME='gpu'", "onnx-int8")
    assert not no_model.exists()


def test_fast_build_without_a_teacher(tmp_path, no_model, capsys):
    assert main(["build", "--config", "fast", "--out-dir", str(tmp_path / "models")]) == 2
    one_line_error(capsys, "--config full")


def test_the_cem_command_prints_one_line_too(tmp_path):
    """Through the real console entry point, in a fresh process."""
    done = subprocess.run([sys.executable, str(REPO / "cem_cli.py"), "sentiment", "score", str(tmp_path / "x.csv"),
                           "--output", str(tmp_path / "y.csv")], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [f"cem sentiment score: {tmp_path / 'x.csv'}: no such file; "
                                                "give the path of the .csv, .csv.gz, .tsv or .parquet file to score"]


@pytest.mark.parametrize("argv, env, needle", [
    (["demo", "--customers", "0"], {}, "--customers: 0 must be at least 1"),
    (["ui", "--port", "http"], {}, "--port: 'http' is not a whole number"),
    (["demo"], {"CEM_DEMO_CUSTOMERS": "lots"}, "CEM_DEMO_CUSTOMERS='lots' is not a whole number"),
])
def test_cem_command_mistakes_are_one_liners(argv, env, needle, monkeypatch, capsys):
    """The other `cem` subcommands: a bad option or CEM_* setting exits with 2 and says so, before anything starts."""
    import cem_cli

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    try:
        rc = cem_cli.main(argv)
    except SystemExit as e:  # argparse's own errors: usage line + one error line
        rc = e.code
    assert rc == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    assert len([line for line in err.splitlines() if not line.startswith(("usage:", " "))]) == 1, err
