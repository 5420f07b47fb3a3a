"""The whole API with real requests against the farm as users run it (scripts/run, supervisord,
gunicorn, PaddleOCR workers), and the seeds' clients with the code they show."""

from __future__ import annotations

import base64
import io
import os
import re
import signal

import numpy as np
import pytest
import requests
from PIL import Image

from tests.farm_process import FarmProcess
from tests.helpers import SAMPLE_LINES, assert_reads, blank_image, render_text, wait_for

pytestmark = pytest.mark.system


def pdf(pages: int) -> bytes:
    images = [
        Image.open(io.BytesIO(render_text([f"Page {n} of the report"]))).convert("RGB")
        for n in range(1, pages + 1)
    ]
    buffer = io.BytesIO()
    images[0].save(buffer, "PDF", save_all=True, append_images=images[1:], resolution=200)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def farm(tmp_path_factory):
    with FarmProcess(tmp_path_factory.mktemp("api"), workers=2) as farm:
        yield farm


def post(farm, path="/v1/ocr", data=None, name="doc.png", **kwargs):
    files = {"file": (name, data)} if data is not None else None
    return requests.post(farm.url + path, files=files, timeout=120, **kwargs)


def error_of(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["code"] == code and body["error"]["message"]
    return body


def test_pdf_pages_come_back_in_order(farm):
    response = post(farm, data=pdf(3), name="report.pdf")
    assert response.status_code == 200, response.text
    body = response.json()
    assert [page["page"] for page in body["pages"]] == [1, 2, 3]
    for number, page in enumerate(body["pages"], start=1):
        assert_reads([line["text"] for line in page["lines"]], [f"Page {number} of the report"])
        assert page["width"] > 0 and page["height"] > 0
    assert_reads(
        [chunk for chunk in body["text"].split("\n\n")], [f"Page {n} of the report" for n in (1, 2, 3)]
    )
    assert {line["page"] for line in body["lines"]} == {1, 2, 3}
    # Each page can be fetched as the picture its boxes refer to.
    png = requests.get(farm.url + body["url"] + "/pages/2", timeout=30)
    assert png.headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(png.content)).size == (body["pages"][1]["width"], body["pages"][1]["height"])


def test_multi_frame_tiff_is_one_page_per_frame(farm):
    frames = [Image.open(io.BytesIO(render_text([f"Frame {n} reads well"]))).convert("RGB") for n in (1, 2)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "TIFF", save_all=True, append_images=frames[1:])
    body = post(farm, data=buffer.getvalue(), name="scan.tif").json()
    assert [len(page["lines"]) for page in body["pages"]] == [1, 1]
    assert_reads([page["text"] for page in body["pages"]], ["Frame 1 reads well", "Frame 2 reads well"])


def test_text_and_annotated_formats(farm):
    text = post(farm, "/v1/ocr?format=text", render_text())
    assert text.headers["Content-Type"].startswith("text/plain")
    assert_reads(text.text.splitlines())
    picture = post(farm, "/v1/ocr?format=annotated", render_text())
    assert picture.headers["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(picture.content)).convert("RGB")
    assert image.size == Image.open(io.BytesIO(render_text())).size
    pixels = np.asarray(image).reshape(-1, 3).astype(int)
    red = int(((pixels[:, 0] > 200) & (pixels[:, 1] < 80) & (pixels[:, 2] < 80)).sum())
    assert red > 500, "the boxes are drawn"
    jpeg = post(farm, "/v1/ocr?format=annotated", render_text(), headers={"Accept": "image/jpeg"})
    assert jpeg.headers["Content-Type"] == "image/jpeg"
    assert error_of(post(farm, "/v1/ocr?format=xml", render_text()), 400, "bad_option")


def test_options_per_request(farm):
    nothing = post(farm, data=render_text(), params={"min_confidence": "1.0"}).json()
    assert nothing["lines"] == [], "no line is read with full confidence"
    upside_down = io.BytesIO()
    Image.open(io.BytesIO(render_text())).rotate(180).save(upside_down, "PNG")
    read = post(farm, data=upside_down.getvalue(), params={"angle_cls": "true"}).json()
    assert_reads(sorted(line["text"] for line in read["lines"]), sorted(SAMPLE_LINES))
    assert read["options"]["angle_cls"] is True
    error_of(post(farm, data=render_text(), params={"min_confidence": "lots"}), 400, "bad_option")
    body = error_of(post(farm, data=render_text(), params={"language": "fr"}), 400, "bad_option")
    assert "unknown option 'language'" in body["error"]["message"]


def test_json_with_base64(farm):
    encoded = base64.b64encode(render_text()).decode()
    response = requests.post(
        farm.url + "/v1/ocr",
        json={"image": encoded, "filename": "x.png", "options": {"angle_cls": False}},
        timeout=60,
    )
    assert response.status_code == 200
    assert_reads(response.json()["text"].splitlines())
    error_of(
        requests.post(farm.url + "/v1/jobs", json={"image": "%%% not base64"}, timeout=30), 400, "bad_base64"
    )
    error_of(requests.post(farm.url + "/v1/jobs", json={"image": ""}, timeout=30), 400, "empty_file")
    error_of(requests.post(farm.url + "/v1/jobs", json={"picture": encoded}, timeout=30), 400, "bad_request")


def test_async_jobs(farm):
    response = post(farm, "/v1/jobs", render_text())
    assert response.status_code == 202
    url = farm.url + response.headers["Location"]
    done = wait_for(
        lambda: (r := requests.get(url, timeout=10).json())["status"] == "done" and r,
        timeout=60,
        message="the job to finish",
    )
    assert_reads(done["text"].splitlines())
    text = requests.get(url + "?format=text", timeout=10)
    assert text.text.strip() == done["text"]


@pytest.mark.parametrize(
    "data, name, status, code",
    [
        (b"", "empty.png", 400, "empty_file"),
        (b"just words", "words.jpg", 415, "unsupported_type"),
        (b"%PDF-1.7 and nothing else", "broken.pdf", 422, "undecodable"),
    ],
)
def test_upload_errors(farm, data, name, status, code):
    error_of(post(farm, data=data, name=name), status, code)


def test_missing_file_and_unknown_job(farm):
    error_of(requests.post(farm.url + "/v1/ocr", data={"nofile": "x"}, timeout=30), 400, "missing_file")
    error_of(requests.get(farm.url + "/v1/jobs/" + "0" * 32, timeout=30), 404, "not_found")
    error_of(requests.get(farm.url + "/v1/jobs/..%2fsecrets", timeout=30), 404, "not_found")


def test_truncated_image_fails_with_its_reason(farm):
    jpeg = render_text(fmt="JPEG")
    body = error_of(post(farm, data=jpeg[: len(jpeg) // 2], name="cut.jpg"), 422, "undecodable")
    assert requests.get(farm.url + body["url"], timeout=10).json()["status"] == "failed"


def test_seed_002_client(farm):
    encoded = base64.b64encode(render_text()).decode()
    answer = requests.post(farm.url + "/tyocr", data={"imgbase64": encoded}, timeout=60).json()
    assert answer["sign"] == 0
    assert_reads(answer["text"].splitlines())
    refused = requests.post(
        farm.url + "/tyocr", data={"imgbase64": base64.b64encode(b"no image").decode()}, timeout=60
    ).json()
    assert refused["sign"] == -1 and "not an image" in refused["text"]


def test_seed_003_client(farm, tmp_path):
    # The client exactly as the seed shows it.
    file_path = tmp_path / "photo.jpg"
    file_path.write_bytes(render_text(fmt="JPEG"))
    file = open(file_path, "rb")  # noqa: SIM115 - the seed's client, word for word
    encode = base64.b64encode(file.read())
    r = requests.post(farm.url + "/predictor", data=encode)
    result = r.content
    img = base64.b64decode(result)
    out = tmp_path / "test3.jpg"
    out.write_bytes(img)
    file.close()
    picture = Image.open(out)
    assert picture.format == "JPEG"
    assert picture.size == Image.open(file_path).size


def test_metrics_add_up_across_processes(farm):
    before = metric_values(farm)
    for _ in range(4):
        assert post(farm, data=render_text()).status_code == 200
    done = 'ocrfarm_jobs_finished_total{source="http",status="done"}'
    # A worker counts a job just after writing its result, so the count may trail the answer a little.
    after = wait_for(
        lambda: (m := metric_values(farm))[done] - before.get(done, 0) >= 4 and m,
        timeout=10,
        message="the finished count",
    )
    assert after[done] - before.get(done, 0) == 4
    assert (
        after['ocrfarm_jobs_accepted_total{source="http"}']
        - before.get('ocrfarm_jobs_accepted_total{source="http"}', 0)
        == 4
    )
    assert after["ocrfarm_workers_live"] == 2
    assert after["ocrfarm_queue_depth"] == 0
    assert after["ocrfarm_spool_disk_free_bytes"] > 0
    assert after["ocrfarm_ocr_seconds_count"] >= 4


def metric_values(farm) -> dict[str, float]:
    text = requests.get(farm.url + "/metrics", timeout=10).text
    values = {}
    for line in text.splitlines():
        match = re.match(r"^(\w+(?:\{[^}]*\})?) ([0-9.e+-]+)$", line)
        if match:
            values[match[1]] = float(match[2])
    return values


@pytest.fixture(scope="module")
def slow_farm(tmp_path_factory):
    """One worker on the fake engine at a second per page, a token, and low limits."""
    with FarmProcess(
        tmp_path_factory.mktemp("slow"),
        workers=1,
        engine="fake",
        fake_delay=1,
        api_token="s3cret",
        max_pages=4,
        max_pixels=1_000_000,
        max_queue=3,
        wait_timeout=1,
    ) as farm:
        yield farm


AUTH = {"Authorization": "Bearer s3cret"}


def test_token_is_required_except_for_health(slow_farm):
    error_of(post(slow_farm, "/v1/jobs", blank_image()), 401, "unauthorized")
    error_of(
        post(slow_farm, "/v1/jobs", blank_image(), headers={"Authorization": "Bearer wrong"}),
        401,
        "unauthorized",
    )
    error_of(requests.get(slow_farm.url + "/metrics", timeout=10), 401, "unauthorized")
    assert requests.get(slow_farm.url + "/healthz", timeout=10).status_code == 200
    assert requests.get(slow_farm.url + "/readyz", timeout=10).status_code == 200
    assert post(slow_farm, "/v1/jobs", blank_image(), headers=AUTH).status_code == 202


def test_progress_cancel_and_limits(slow_farm):
    wait_for(
        lambda: requests.get(slow_farm.url + "/readyz", timeout=10).json()["queue_depth"] == 0,
        timeout=30,
        message="an empty queue",
    )
    running = post(slow_farm, "/v1/jobs", pdf(3), name="three.pdf", headers=AUTH).json()
    queued = post(slow_farm, "/v1/jobs", blank_image(), headers=AUTH).json()
    url = slow_farm.url + running["url"]
    progress = wait_for(
        lambda: requests.get(url, headers=AUTH, timeout=10).json().get("progress", {}).get("pages_done"),
        timeout=30,
        message="pages done to show",
    )
    status = requests.get(url, headers=AUTH, timeout=10).json()
    assert status["status"] == "running" and status["progress"]["pages_total"] == 3 and progress >= 1
    error_of(requests.delete(url, headers=AUTH, timeout=10), 409, "job_running")
    cancelled = requests.delete(slow_farm.url + queued["url"], headers=AUTH, timeout=10)
    assert cancelled.status_code == 200 and cancelled.json()["error"]["code"] == "cancelled"
    error_of(requests.get(slow_farm.url + queued["url"], headers=AUTH, timeout=10), 422, "cancelled")
    error_of(
        requests.delete(slow_farm.url + "/v1/jobs/" + "0" * 32, headers=AUTH, timeout=10), 404, "not_found"
    )
    done = wait_for(
        lambda: (r := requests.get(url, headers=AUTH, timeout=10).json())["status"] == "done" and r,
        timeout=30,
        message="the PDF to finish",
    )
    assert len(done["pages"]) == 3

    error_of(post(slow_farm, "/v1/jobs", pdf(5), name="five.pdf", headers=AUTH), 413, "too_many_pages")
    error_of(post(slow_farm, "/v1/jobs", blank_image(2000, 2000), headers=AUTH), 413, "too_many_pixels")


def test_full_queue_is_503_with_retry_after_and_the_wait_limit_is_202(slow_farm):
    wait_for(
        lambda: requests.get(slow_farm.url + "/readyz", timeout=10).json()["queue_depth"] == 0,
        timeout=30,
        message="an empty queue",
    )
    # The idle worker is paused while the wait runs out and the queue fills, so no job can finish
    # meanwhile: the wait certainly ends first and the count is exact. (A one-second job against
    # the one-second wait was a race, lost with a 200 when the front was slow to start waiting.)
    worker = slow_farm.pid("worker:worker-01")
    os.kill(worker, signal.SIGSTOP)
    accepted = []
    try:
        wait_for(lambda: process_state(worker) == "T", timeout=10, message="the worker to be paused")
        slow = post(slow_farm, "/v1/ocr", blank_image(), headers=AUTH)
        assert slow.status_code == 202, "the wait limit answers 202 with the job's URL, never 504"
        accepted.append(slow.json()["url"])
        assert slow.headers["Location"] == slow.json()["url"]
        statuses = []
        for _ in range(4):
            statuses.append(post(slow_farm, "/v1/jobs", blank_image(), headers=AUTH))
            if statuses[-1].status_code == 202:
                accepted.append(statuses[-1].json()["url"])
        # At most 3 jobs wait: the one above and two more.
        assert [r.status_code for r in statuses] == [202, 202, 503, 503], [r.text for r in statuses]
        assert int(statuses[2].headers["Retry-After"]) > 0
        assert statuses[2].json()["error"]["code"] == "busy"
    finally:
        # The farm as the other tests found it: nothing queued, its worker going.
        for url in accepted:
            requests.delete(slow_farm.url + url, headers=AUTH, timeout=10)
        os.kill(worker, signal.SIGCONT)
    assert requests.get(slow_farm.url + "/readyz", timeout=10).json()["queue_depth"] == 0


def process_state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]
