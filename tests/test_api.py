"""The HTTP API through Flask's test client, with a worker thread on a fake engine behind it."""

from __future__ import annotations

import base64
import io
import threading

import pytest

from ocrfarm.settings import Settings
from ocrfarm.spool import Spool, new_job_id
from server import create_app
from tests.helpers import blank_image, render_text
from workers.__main__ import build_engines
from workers.loop import Worker


def make_settings(tmp_path, **overrides) -> Settings:
    values = dict(spool=tmp_path / "spool", poll_interval=0.05, wait_timeout=10, engine="fake")
    values.update(overrides)
    return Settings.from_env({}, **values)


class FrontUnderTest:
    """The app plus one worker thread, stopped at the end of the test."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.client = create_app(settings).test_client()
        self.spool = Spool(settings.spool, settings.max_attempts).ensure()
        self.worker = None

    def start_worker(self):
        # A fake engine per loaded model set, as a worker builds them.
        self.worker = Worker(self.spool, build_engines(self.settings), self.settings, "test-worker")
        self.thread = threading.Thread(target=self.worker.work, daemon=True)
        self.thread.start()

    def stop(self):
        if self.worker is not None:
            self.worker.stop()
            self.thread.join(timeout=10)

    def post(self, data: bytes | None, path: str = "/v1/ocr", filename: str = "scan.png", **fields):
        form = {} if data is None else {"file": (io.BytesIO(data), filename)}
        return self.client.post(path, data={**form, **fields}, content_type="multipart/form-data")


@pytest.fixture
def farm(tmp_path):
    farm = FrontUnderTest(make_settings(tmp_path))
    farm.start_worker()
    yield farm
    farm.stop()


def assert_error(response, status: int, code: str):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body


def test_ocr_answers_with_lines_text_and_timings(farm):
    response = farm.post(blank_image(40, 30))
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "done"
    assert body["text"] == "40x30"
    assert body["lines"] == [
        {"text": "40x30", "confidence": 1.0, "page": 1, "box": [[0, 0], [40, 0], [40, 30], [0, 30]]}
    ]
    assert body["filename"] == "scan.png"
    assert {"queued_s", "ocr_s", "total_s"} <= set(body["timings"])
    # The result stays available at the job's URL.
    again = farm.client.get(body["url"])
    assert again.status_code == 200
    assert again.get_json()["text"] == "40x30"


def test_seed_000_client_gets_text_confidence_pairs(farm):
    response = farm.post(blank_image(12, 34), path="/v1/img/ocr", filename="card.jpg")
    assert response.status_code == 200
    assert response.get_json() == [["12x34", 1.0]]


def test_slow_result_answers_202_and_the_job_goes_on(tmp_path):
    farm = FrontUnderTest(make_settings(tmp_path, wait_timeout=0.2))
    try:
        response = farm.post(blank_image())
        assert response.status_code == 202
        body = response.get_json()
        assert body["status"] == "queued"
        assert response.headers["Location"] == body["url"]
        farm.start_worker()
        from tests.helpers import wait_for

        done = wait_for(
            lambda: farm.client.get(body["url"]).get_json()["status"] == "done",
            timeout=10,
            message="the job to finish",
        )
        assert done
        assert farm.client.get(body["url"]).get_json()["text"] == "40x30"
    finally:
        farm.stop()


def test_missing_file_field(farm):
    assert_error(farm.post(None), 400, "missing_file")


def test_empty_upload(farm):
    assert_error(farm.post(b""), 400, "empty_file")


def test_not_an_image(farm):
    body = assert_error(
        farm.post(b"just some text, not a picture", filename="x.jpg"), 415, "unsupported_type"
    )
    assert "not an image" in body["error"]["message"]


def test_broken_pdf(farm):
    body = assert_error(farm.post(b"%PDF-1.4 then nothing", filename="x.pdf"), 422, "undecodable")
    assert "PDF could not be read" in body["error"]["message"]


def test_truncated_image_fails_its_job_with_the_reason(farm):
    jpeg = render_text(fmt="JPEG")
    body = assert_error(farm.post(jpeg[: len(jpeg) // 2], filename="cut.jpg"), 422, "undecodable")
    # The job exists and ended as failed, with the same reason.
    job = farm.client.get(body["url"]).get_json()
    assert job["status"] == "failed"
    assert job["error"]["code"] == "undecodable"


def test_too_large_in_bytes(tmp_path):
    farm = FrontUnderTest(make_settings(tmp_path, max_upload_mb=0.01))
    assert_error(farm.post(render_text(size=200, fmt="BMP")), 413, "too_large")


def test_too_many_pixels_is_refused_before_decoding(tmp_path):
    farm = FrontUnderTest(make_settings(tmp_path, max_pixels=1000))
    body = assert_error(farm.post(blank_image(100, 100)), 413, "too_many_pixels")
    assert "100x100" in body["error"]["message"]
    assert farm.spool.depth() == 0, "nothing was queued"


def test_unknown_and_malformed_job_ids(farm):
    assert_error(farm.client.get(f"/v1/jobs/{new_job_id()}"), 404, "not_found")
    assert_error(farm.client.get("/v1/jobs/..%2F..%2Fetc%2Fpasswd"), 404, "not_found")
    assert_error(farm.client.get("/v1/jobs/ZZZ"), 404, "not_found")


def test_wrong_method_in_the_same_error_shape(farm):
    assert_error(farm.client.get("/v1/ocr"), 405, "method_not_allowed")


def test_upload_form(farm):
    for path, action in (("/", "/v1/ocr"), ("/v1/img/ocr", "/v1/img/ocr")):
        page = farm.client.get(path).get_data(as_text=True)
        assert 'type="file" name="file"' in page
        assert f'action="{action}"' in page


def test_jobs_endpoint_answers_at_once(tmp_path):
    farm = FrontUnderTest(make_settings(tmp_path))
    response = farm.post(blank_image(), path="/v1/jobs")
    assert response.status_code == 202
    assert response.get_json()["status"] == "queued"
    assert farm.client.get(response.headers["Location"]).get_json()["status"] == "queued"


def test_full_queue_answers_503_and_keeps_what_it_accepted(tmp_path):
    farm = FrontUnderTest(make_settings(tmp_path, max_queue=2))
    accepted = [farm.post(blank_image(), path="/v1/jobs") for _ in range(2)]
    assert [r.status_code for r in accepted] == [202, 202]
    refused = farm.post(blank_image(), path="/v1/jobs")
    assert_error(refused, 503, "busy")
    assert int(refused.headers["Retry-After"]) > 0
    assert farm.spool.depth() == 2
    farm.start_worker()
    try:
        from tests.helpers import wait_for

        for response in accepted:
            job_id = response.get_json()["id"]
            wait_for(lambda job_id=job_id: farm.spool.result(job_id), timeout=10, message="accepted job")
        assert farm.post(blank_image(), path="/v1/jobs").status_code == 202, "room again once drained"
    finally:
        farm.stop()


def test_disk_full_answers_507_and_leaves_nothing_behind(tmp_path, monkeypatch):
    import errno

    from ocrfarm import spool as spool_module

    farm = FrontUnderTest(make_settings(tmp_path))

    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(spool_module.os, "fsync", no_space)
    assert_error(farm.post(blank_image()), 507, "insufficient_storage")
    monkeypatch.undo()
    assert list(farm.spool.queue.iterdir()) == [] and list(farm.spool.tmp.iterdir()) == []


def test_health_and_readiness(tmp_path):
    farm = FrontUnderTest(make_settings(tmp_path))
    assert farm.client.get("/healthz").get_json() == {"status": "ok"}
    not_ready = farm.client.get("/readyz")
    assert not_ready.status_code == 503 and not_ready.get_json()["ready"] is False
    farm.post(blank_image(), path="/v1/jobs")
    farm.start_worker()
    try:
        from tests.helpers import wait_for

        wait_for(lambda: farm.client.get("/readyz").status_code == 200, timeout=10, message="ready")
        body = farm.client.get("/readyz").get_json()
        assert body["workers"] == 1 and "queue_depth" in body and "oldest_job_age_s" in body
    finally:
        farm.stop()


@pytest.fixture
def two_set_farm(tmp_path):
    farm = FrontUnderTest(make_settings(tmp_path, models="ppocrv3,ppocrv6"))
    farm.start_worker()
    yield farm
    farm.stop()


def test_a_request_picks_a_loaded_model_set_and_the_answer_names_it(two_set_farm):
    farm = two_set_farm
    assert farm.post(blank_image()).get_json()["options"]["model"] == "ppocrv3", (
        "the first set is the default"
    )
    picked = farm.post(blank_image(), model="ppocrv6")
    assert picked.status_code == 200, picked.get_data(as_text=True)
    assert picked.get_json()["options"] == {
        "angle_cls": True,
        "det_limit_side": 960,
        "min_confidence": 0.5,
        "force_ocr": False,
        "model": "ppocrv6",
    }
    as_json = farm.client.post(
        "/v1/ocr", json={"image": base64.b64encode(blank_image()).decode(), "options": {"model": "ppocrv6"}}
    )
    assert as_json.status_code == 200 and as_json.get_json()["options"]["model"] == "ppocrv6"
    queried = farm.client.post(
        "/v1/jobs?model=ppocrv6",
        data={"file": (io.BytesIO(blank_image()), "a.png")},
        content_type="multipart/form-data",
    )
    assert queried.status_code == 202
    from tests.helpers import wait_for

    done = wait_for(
        lambda: farm.client.get(queried.get_json()["url"]).status_code == 200,
        timeout=10,
        message="the queued job to finish",
    )
    assert done and farm.client.get(queried.get_json()["url"]).get_json()["options"]["model"] == "ppocrv6"
    assert farm.client.get("/readyz").get_json()["models"] == ["ppocrv3", "ppocrv6"]


@pytest.mark.parametrize("value", ["ppocrv4", "", "ppocrv3,ppocrv6"])
def test_a_model_set_the_farm_has_not_loaded_is_a_bad_option_naming_the_loaded_ones(two_set_farm, value):
    body = assert_error(two_set_farm.post(blank_image(), model=value), 400, "bad_option")
    assert body["error"]["message"] == (
        f"option model must be a model set this farm has loaded: ppocrv3, ppocrv6; got {value!r}"
    )
    assert two_set_farm.spool.depth() == 0, "nothing was queued"


def test_the_model_option_in_json_must_be_a_name(two_set_farm):
    response = two_set_farm.client.post(
        "/v1/jobs", json={"image": base64.b64encode(blank_image()).decode(), "options": {"model": 6}}
    )
    body = assert_error(response, 400, "bad_option")
    assert "ppocrv3, ppocrv6" in body["error"]["message"]


def test_a_one_set_farm_refuses_another_set(farm):
    body = assert_error(farm.post(blank_image(), model="ppocrv6"), 400, "bad_option")
    assert "this farm has loaded: ppocrv3;" in body["error"]["message"]


def test_pdf_and_hocr_formats_and_a_password_that_is_never_shown_back(farm):
    import pypdfium2

    from tests.test_searchable import encrypted

    image = render_text()
    pdf = farm.client.post(
        "/v1/ocr?format=pdf",
        data={"file": (io.BytesIO(image), "bill.png")},
        content_type="multipart/form-data",
    )
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert 'filename="bill.pdf"' in pdf.headers["Content-Disposition"]
    # The fake engine reads one line naming the image's size: the PDF's text is that line.
    document = pypdfium2.PdfDocument(pdf.get_data())
    assert document[0].get_textpage().get_text_range().split() == [farm.post(image).get_json()["text"]]

    hocr = farm.client.post(
        "/v1/ocr?format=hocr",
        data={"file": (io.BytesIO(image), "bill.png")},
        content_type="multipart/form-data",
    )
    assert hocr.status_code == 200 and hocr.mimetype == "text/vnd.hocr+html"
    assert "class='ocr_page'" in hocr.get_data(as_text=True)

    locked = encrypted(pdf_of_image(image), "s3cret")
    assert (
        "password"
        in assert_error(farm.post(locked, filename="locked.pdf"), 422, "encrypted_pdf")["error"]["message"]
    )
    assert_error(farm.post(locked, filename="locked.pdf", password="nope"), 422, "wrong_password")
    opened = farm.post(locked, filename="locked.pdf", password="s3cret")
    assert opened.status_code == 200 and opened.get_json()["options"]["password"] is True
    assert "s3cret" not in opened.get_data(as_text=True)
    assert_error(farm.post(image, password=""), 400, "bad_option")


def pdf_of_image(data: bytes) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.open(io.BytesIO(data)).convert("RGB").save(buffer, "PDF", resolution=100)
    return buffer.getvalue()
