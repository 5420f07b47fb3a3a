"""The project as a package: `pip install .` gives a working `ocrfarm` command, away from the checkout.

Installed with `pip install --no-deps --target` (the pinned dependencies are the test environment's
own), then run from a folder outside the checkout so that nothing is imported from it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return target


def ocrfarm(installed: Path, cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {"PATH": os.environ["PATH"], "PYTHONPATH": str(installed), "HOME": str(cwd), **env}
    return subprocess.run(
        [sys.executable, str(installed / "bin" / "ocrfarm"), *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_package_holds_the_programs_and_their_files_and_not_the_checkouts(installed):
    assert (installed / "launcher" / "supervisord.conf").is_file()
    assert (installed / "server" / "templates" / "index.html").is_file()
    assert (installed / "server" / "static" / "page.js").is_file()
    assert (installed / "workers" / "pipeline" / "detection.py").is_file()
    for checkout_only in ("bench", "tests", "harness", "scripts"):
        assert not (installed / checkout_only).exists(), checkout_only


def test_each_command_helps_with_the_settings_it_reads(installed, tmp_path):
    usage = ocrfarm(installed, tmp_path, "--help")
    assert usage.returncode == 0
    for command in ("run", "serve", "worker", "intake", "ocr", "bench", "settings", "ctl"):
        assert f"\n  {command} " in usage.stdout, command
    worker = ocrfarm(installed, tmp_path, "worker", "--help")
    assert worker.returncode == 0 and "OCRFARM_JOB_TIMEOUT (default 120)" in worker.stdout
    assert "OCRFARM_PORT" not in worker.stdout  # the front's, not a worker's
    serve = ocrfarm(installed, tmp_path, "serve", "--help")
    assert serve.returncode == 0 and "OCRFARM_PORT (default 8080)" in serve.stdout
    intake = ocrfarm(installed, tmp_path, "intake", "--help")
    assert intake.returncode == 0 and "OCRFARM_QUIET_PERIOD" in intake.stdout
    assert "--url" in ocrfarm(installed, tmp_path, "ocr", "--help").stdout


def test_a_bad_setting_is_one_line_and_exit_3_for_every_program(installed, tmp_path):
    for command in ("worker", "intake", "settings", "run"):
        result = ocrfarm(installed, tmp_path, command, OCRFARM_MAX_ATTEMPTS="many")
        assert result.returncode == 3, (command, result.stderr)
        assert result.stderr.strip().splitlines() == [
            f"ocrfarm{' ' + command if command in ('worker', 'intake') else ''}: bad setting: "
            "OCRFARM_MAX_ATTEMPTS must be a whole number from 1 to 100, got 'many'"
        ], command


def test_an_installed_worker_works_a_spool(installed, tmp_path):
    # A job queued with the checkout's own spool code, worked by the installed worker (fake engine).
    from ocrfarm.settings import Settings
    from ocrfarm.spool import Spool
    from tests.helpers import blank_image

    spool_dir = tmp_path / "spool"
    spool = Spool.from_settings(Settings.from_env({}, spool=spool_dir)).ensure()
    job = spool.submit(blank_image(), source="test")
    result = ocrfarm(
        installed, tmp_path, "worker", "--burst", OCRFARM_SPOOL=str(spool_dir), OCRFARM_ENGINE="fake"
    )
    assert result.returncode == 0, result.stderr
    assert spool.result(job.id)["status"] == "done"
