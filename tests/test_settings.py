"""Settings: checked once, with one clear line per bad value."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from ocrfarm.exceptions import ConfigurationError
from ocrfarm.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_defaults():
    settings = Settings.from_env({})
    assert (settings.host, settings.port, settings.threads, settings.models) == (
        "127.0.0.1",
        8080,
        1,
        "ppocrv3",
    )
    assert settings.workers >= 1
    assert settings.spool == ROOT / "spool"


def test_values_from_the_environment(tmp_path):
    settings = Settings.from_env(
        {
            "OCRFARM_PORT": "9000",
            "OCRFARM_SPOOL": str(tmp_path),
            "OCRFARM_INOTIFY": "off",
            "OCRFARM_WAIT_TIMEOUT": "2.5",
        }
    )
    assert (settings.port, settings.spool, settings.inotify, settings.wait_timeout) == (
        9000,
        tmp_path,
        False,
        2.5,
    )


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("OCRFARM_PORT", "http", "OCRFARM_PORT must be a whole number from 1 to 65535, got 'http'"),
        ("OCRFARM_WORKERS", "0", "OCRFARM_WORKERS must be a whole number from 1 to 256, got '0'"),
        (
            "OCRFARM_MODELS",
            "ppocrv9",
            "OCRFARM_MODELS must be one or more of ppocrv3, ppocrv4, ppocrv6, custom, "
            "comma-separated, got 'ppocrv9'",
        ),
        (
            "OCRFARM_MODELS",
            "ppocrv3,",
            "OCRFARM_MODELS must be one or more of ppocrv3, ppocrv4, ppocrv6, custom, "
            "comma-separated, got 'ppocrv3,'",
        ),
        (
            "OCRFARM_MODELS",
            "ppocrv3,ppocrv6,PPOCRV3",
            "OCRFARM_MODELS must be one or more of ppocrv3, ppocrv4, ppocrv6, "
            "custom, comma-separated, each at most once, got 'ppocrv3,ppocrv6,PPOCRV3'",
        ),
        ("OCRFARM_INOTIFY", "maybe", "OCRFARM_INOTIFY must be true or false, got 'maybe'"),
        ("OCRFARM_WAIT_TIMEOUT", "-1", "OCRFARM_WAIT_TIMEOUT must be a number from 0 to 3600, got '-1'"),
    ],
)
def test_bad_values_name_the_variable(name, value, expected):
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({name: value})
    assert str(caught.value) == expected


def test_custom_models_need_their_paths():
    with pytest.raises(ConfigurationError, match="OCRFARM_DET_MODEL"):
        Settings.from_env({"OCRFARM_MODELS": "custom"})


def test_several_model_sets_the_first_is_the_default():
    settings = Settings.from_env({"OCRFARM_MODELS": " ppocrv6, ppocrv3 "})
    assert settings.model_sets == ("ppocrv6", "ppocrv3")
    assert settings.models == "ppocrv6"
    assert settings.option_defaults["model"] == "ppocrv6"
    assert settings.engine == "onnx"
    # An override is read as the variable is (tests and the benchmark pass one set by name).
    assert Settings.from_env({}, models="ppocrv4").model_sets == ("ppocrv4",)
    assert Settings.from_env({}, models="ppocrv3,ppocrv6").model_sets == ("ppocrv3", "ppocrv6")


def test_each_set_runs_on_the_engine_for_its_weights_unless_one_is_chosen():
    mixed = Settings.from_env({"OCRFARM_MODELS": "ppocrv3,ppocrv4"})
    assert (mixed.engine_for("ppocrv3"), mixed.engine_for("ppocrv4")) == ("onnx", "paddle")
    assert "OCRFARM_ENGINE" not in mixed.exports()  # the workers decide per set, as here
    chosen = Settings.from_env({"OCRFARM_MODELS": "ppocrv3,ppocrv4", "OCRFARM_ENGINE": "paddle"})
    assert (chosen.engine_for("ppocrv3"), chosen.engine_for("ppocrv4")) == ("paddle", "paddle")
    assert chosen.exports()["OCRFARM_ENGINE"] == "paddle"
    assert Settings.from_env({"OCRFARM_MODELS": "ppocrv3,ppocrv6"}).engine == "onnx"
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({"OCRFARM_MODELS": "ppocrv3,ppocrv4", "OCRFARM_ENGINE": "onnx"})
    assert str(caught.value) == (
        "OCRFARM_ENGINE=onnx runs ONNX weights, and ppocrv4 in OCRFARM_MODELS=ppocrv3,ppocrv4 is in Paddle "
        "format: set OCRFARM_ENGINE=paddle (or leave it unset), or leave ppocrv4 out of OCRFARM_MODELS"
    )


def test_custom_at_most_once_and_with_its_paths(tmp_path):
    with pytest.raises(ConfigurationError, match="each at most once .there is one custom set"):
        Settings.from_env({"OCRFARM_MODELS": "custom,ppocrv3,custom"})
    with pytest.raises(ConfigurationError, match="OCRFARM_DET_MODEL"):
        Settings.from_env({"OCRFARM_MODELS": "ppocrv3,custom"})
    det, rec = tmp_path / "det.onnx", tmp_path / "rec.onnx"
    settings = Settings.from_env(
        {"OCRFARM_MODELS": "ppocrv3,custom", "OCRFARM_DET_MODEL": str(det), "OCRFARM_REC_MODEL": str(rec)}
    )
    assert (settings.model_sets, settings.engine) == (("ppocrv3", "custom"), "onnx")


def test_shell_exports_round_trip(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "OCRFARM_MODELS": "ppocrv3,ppocrv6",
        "OCRFARM_SPOOL": str(tmp_path),
        "OCRFARM_PORT": "9001",
    }
    result = subprocess.run(
        [sys.executable, "-m", "ocrfarm.settings", "--shell"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "export OCRFARM_MODELS=ppocrv3,ppocrv6" in result.stdout.splitlines()
    exported = dict(line.removeprefix("export ").split("=", 1) for line in result.stdout.splitlines())
    again = Settings.from_env(
        {key: shlex.split(value)[0] if value else value for key, value in exported.items()}
    )
    assert again == Settings.from_env(env)


def test_check_command_exits_with_one_line():
    env = {"PATH": "/usr/bin:/bin", "OCRFARM_THREADS": "lots"}
    result = subprocess.run(
        [sys.executable, "-m", "ocrfarm.settings"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 3  # as every program exits on a bad setting
    assert result.stderr.strip().splitlines() == [
        "ocrfarm: bad setting: OCRFARM_THREADS must be a whole number from 1 to 256, got 'lots'"
    ]


def test_readme_table_is_the_declarations():
    from ocrfarm.settings import markdown_table

    readme = (ROOT / "README.md").read_text()
    assert markdown_table() in readme, (
        "README's settings table: regenerate with python -m ocrfarm.settings --markdown"
    )
