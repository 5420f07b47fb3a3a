"""The API description against the real server: schemathesis fuzzes every operation in it and
fails on any 500 and on any response the document does not allow."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.farm_process import FarmProcess

pytestmark = pytest.mark.system

CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_headers_conformance,response_schema_conformance"
)


@pytest.fixture(scope="module")
def farm(tmp_path_factory):
    # Two model sets, so that the fuzzing also sends the model option's other choice.
    with FarmProcess(
        tmp_path_factory.mktemp("openapi"), workers=2, wait_timeout=2, models="ppocrv3,ppocrv6"
    ) as farm:
        yield farm


def test_document_lists_every_route(farm):
    document = requests.get(farm.url + "/openapi.json", timeout=10).json()
    assert set(document["paths"]) >= {
        "/v1/ocr",
        "/v1/jobs",
        "/v1/jobs/{job_id}",
        "/v1/img/ocr",
        "/tyocr",
        "/predictor",
        "/healthz",
        "/readyz",
        "/metrics",
    }
    form = document["paths"]["/v1/ocr"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["properties"]["model"]["enum"] == ["ppocrv3", "ppocrv6"]


def test_fuzzing_finds_no_server_error_and_no_undocumented_response(farm, tmp_path):
    schemathesis = Path(sys.executable).parent / "schemathesis"
    result = subprocess.run(
        [
            str(schemathesis),
            "run",
            farm.url + "/openapi.json",
            "--checks",
            CHECKS,
            "--max-examples",
            "40",
            "--workers",
            "1",
            "--request-timeout",
            "60",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout.split("SUMMARY")[-1]
