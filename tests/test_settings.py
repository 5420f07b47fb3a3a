"""Settings: checked once, with one clear line per bad value."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ocrfarm.exceptions import ConfigurationError
from ocrfarm.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_defaults():
    settings = Settings.from_env({})
    assert (settings.host, settings.port, settings.threads, settings.models) == ("127.0.0.1", 8080, 1, "ppocrv3")
    assert settings.workers >= 1
    assert settings.spool == ROOT / "spool"


def test_values_from_the_environment(tmp_path):
    settings = Settings.from_env({"OCRFARM_PORT": "9000", "OCRFARM_SPOOL": str(tmp_path),
                                  "OCRFARM_INOTIFY": "off", "OCRFARM_WAIT_TIMEOUT": "2.5"})
    assert (settings.port, settings.spool, settings.inotify, settings.wait_timeout) == (9000, tmp_path, False, 2.5)


@pytest.mark.parametrize("name, value, expected", [
    ("OCRFARM_PORT", "http", "OCRFARM_PORT must be a whole number from 1 to 65535, got 'http'"),
    ("OCRFARM_WORKERS", "0", "OCRFARM_WORKERS must be a whole number from 1 to 256, got '0'"),
    ("OCRFARM_MODELS", "ppocrv9", "OCRFARM_MODELS must be one of ppocrv3, ppocrv4, custom, got 'ppocrv9'"),
    ("OCRFARM_INOTIFY", "maybe", "OCRFARM_INOTIFY must be true or false, got 'maybe'"),
    ("OCRFARM_WAIT_TIMEOUT", "-1", "OCRFARM_WAIT_TIMEOUT must be a number from 0 to 3600, got '-1'"),
])
def test_bad_values_name_the_variable(name, value, expected):
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({name: value})
    assert str(caught.value) == expected


def test_custom_models_need_their_paths():
    with pytest.raises(ConfigurationError, match="OCRFARM_DET_MODEL"):
        Settings.from_env({"OCRFARM_MODELS": "custom"})


def test_check_command_exits_with_one_line():
    env = {"PATH": "/usr/bin:/bin", "OCRFARM_THREADS": "lots"}
    result = subprocess.run([sys.executable, "-m", "ocrfarm.settings"], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "ocrfarm: bad setting: OCRFARM_THREADS must be a whole number from 1 to 256, got 'lots'"]
