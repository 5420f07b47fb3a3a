"""Sending a file to the farm over HTTP and waiting for its result.

POST /v1/jobs (multipart field "file") answers 202 with the job's URL at once; the job is then asked
for (GET) often at first and less often while nothing changes, until it is done or failed.

What is tried again, and how:
- 503 (the farm's queue is full): after the Retry-After it sends, for as long as the file's time
  allows. This is the farm asking for patience, not an error.
- no answer (connection refused or reset, timeout) and 500/502/504: up to `retries` times in a row,
  waiting 1, 2, 4 ... seconds.
Any other refusal (400, 413, 415, 422, 507 ...) fails the file with the farm's own reason; 401 stops
the whole run, as every other file would get it too.
"""

from __future__ import annotations

import email.utils
import threading
import time
from urllib.parse import urljoin

import requests

from client.inputs import Item

CONNECT_TIMEOUT = 10
UPLOAD_TIMEOUT = 300
POLL_TIMEOUT = 60
POLL_FIRST = 0.25
POLL_MAX = 2.0
RETRY_AFTER_DEFAULT = 5.0
RETRY_AFTER_MAX = 120.0


class Failed(Exception):
    """This file failed; the message says why, in the farm's words where it gave any."""


class Refused(Exception):
    """The farm refused the token (or wants one): no other file would fare better."""


class Stopped(Exception):
    """The run was interrupted."""


class HttpFarm:
    def __init__(
        self,
        url: str,
        token: str | None,
        *,
        retries: int,
        timeout: float,
        stop: threading.Event,
        say,
        model: str | None = None,
    ):
        self.url = url.rstrip("/") + "/"
        self.headers = {"Accept": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        # The request option `model`: one of the farm's loaded sets (None: its default).
        self.fields = {} if model is None else {"model": model}
        self.retries = retries
        self.timeout = timeout
        self.stop = stop
        self.say = say  # say(text): a note for --verbose
        self.local = threading.local()
        self.lock = threading.Lock()
        self.busy_answers = 0  # 503s met, for the closing report
        self.unanswered = 0  # requests that got no answer and were tried again

    def describe(self) -> str:
        return self.url

    @property
    def session(self) -> requests.Session:
        # A session per thread: keep-alive without sharing one connection pool's state.
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        return self.local.session

    def run(self, item: Item) -> dict:
        """The job's final record when it is done; Failed when it is not."""
        deadline = time.monotonic() + self.timeout if self.timeout else None
        job = self._submit(item, deadline)
        return self._follow(item, job, deadline)

    def _submit(self, item: Item, deadline: float | None) -> dict:
        tries = 0
        while True:
            try:
                with open(item.source, "rb") as f:
                    response = self.session.post(
                        urljoin(self.url, "v1/jobs"),
                        headers=self.headers,
                        files={"file": (item.source.name, f)},
                        data=self.fields,
                        timeout=(CONNECT_TIMEOUT, UPLOAD_TIMEOUT),
                    )
            except OSError as exc:
                if not isinstance(exc, requests.RequestException):
                    raise Failed(f"cannot read the file: {exc.strerror or exc}") from None
                tries = self._no_answer(item, tries, deadline, _short(exc))
                continue
            body = _json(response)
            if response.status_code in (200, 202) and isinstance(body.get("id"), str):
                return body
            if response.status_code == 503:
                with self.lock:
                    self.busy_answers += 1
                wait = retry_after(response.headers.get("Retry-After"))
                self.say(
                    f"{item.label}: the farm is busy: {_reason(response, body)}; sending again in {wait:g} s"
                )
                self._pause(wait, deadline, "the farm stayed busy")
                continue
            if response.status_code in (500, 502, 504):
                tries = self._no_answer(item, tries, deadline, _reason(response, body))
                continue
            self._refuse(response, body)

    def _follow(self, item: Item, job: dict, deadline: float | None) -> dict:
        url = urljoin(self.url, job.get("url") or f"v1/jobs/{job['id']}")
        delay, tries, last = POLL_FIRST, 0, None
        while True:
            status = job.get("status")
            if status == "done":
                return job
            if status == "failed":
                raise Failed(_error_text(job.get("error")))
            seen = (status, str(job.get("progress")))
            delay = POLL_FIRST if seen != last else min(POLL_MAX, delay * 1.5)
            last = seen
            self._pause(delay, deadline, f"job {job.get('id')} was not done in time")
            try:
                response = self.session.get(
                    url, headers=self.headers, timeout=(CONNECT_TIMEOUT, POLL_TIMEOUT)
                )
            except requests.RequestException as exc:
                tries = self._no_answer(item, tries, deadline, _short(exc))
                continue
            body = _json(response)
            # 202 while it waits or runs, 200 when done, 422 with the job and its error when failed.
            if body.get("status") in ("queued", "running", "done", "failed") and body.get("id") == job["id"]:
                job, tries = body, 0
            elif response.status_code in (500, 502, 503, 504):
                tries = self._no_answer(item, tries, deadline, _reason(response, body))
            elif response.status_code == 404:
                raise Failed(f"the farm no longer knows job {job['id']} ({_reason(response, body)})")
            else:
                self._refuse(response, body)

    def pdf(self, item: Item, record: dict) -> bytes:
        """The done job's document as a searchable PDF (GET its URL with format=pdf); the farm
        assembles it from the result, so nothing is read again."""
        url = urljoin(self.url, (record.get("url") or f"v1/jobs/{record['id']}").lstrip("/")) + "?format=pdf"
        tries = 0
        while True:
            try:
                response = self.session.get(
                    url,
                    headers={**self.headers, "Accept": "application/pdf"},
                    timeout=(CONNECT_TIMEOUT, UPLOAD_TIMEOUT),
                )
            except requests.RequestException as exc:
                tries = self._no_answer(item, tries, None, _short(exc))
                continue
            if response.status_code == 200 and response.content.startswith(b"%PDF-"):
                return response.content
            body = _json(response)
            if response.status_code in (500, 502, 503, 504):
                tries = self._no_answer(item, tries, None, _reason(response, body))
                continue
            if response.status_code == 401:
                self._refuse(response, body)
            raise Failed(_reason(response, body))

    def _no_answer(self, item: Item, tries: int, deadline: float | None, why: str) -> int:
        tries += 1
        if tries > self.retries:
            raise Failed(f"no answer from the farm at {self.url} after {tries} tries: {why}")
        with self.lock:
            self.unanswered += 1
        wait = 2.0 ** (tries - 1)
        self.say(f"{item.label}: no answer from the farm ({why}); trying again in {wait:g} s")
        self._pause(wait, deadline, f"no answer from the farm: {why}")
        return tries

    def _pause(self, seconds: float, deadline: float | None, why: str) -> None:
        if deadline is not None and time.monotonic() + seconds > deadline:
            raise Failed(f"gave up after {self.timeout:g} s: {why}")
        if self.stop.wait(seconds):
            raise Stopped()

    @staticmethod
    def _refuse(response: requests.Response, body: dict):
        if response.status_code == 401:
            raise Refused(_reason(response, body))
        raise Failed(_reason(response, body))


def retry_after(header: str | None) -> float:
    """Seconds to wait from a Retry-After header: a number of seconds or an HTTP date."""
    if header:
        header = header.strip()
        if header.isdigit():
            return min(RETRY_AFTER_MAX, max(0.0, float(header)))
        try:
            when = email.utils.parsedate_to_datetime(header).timestamp()
        except (TypeError, ValueError):
            return RETRY_AFTER_DEFAULT
        return min(RETRY_AFTER_MAX, max(0.0, when - time.time()))
    return RETRY_AFTER_DEFAULT


def _json(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _error_text(error) -> str:
    if isinstance(error, dict) and error.get("message"):
        return f"{error['message']} ({error.get('code', 'error')})"
    return "failed (the farm gave no reason)"


def _reason(response: requests.Response, body: dict) -> str:
    """The farm's words for a refusal: "<message> (<code>, HTTP <status>)"."""
    error = body.get("error")
    if isinstance(error, dict) and error.get("message"):
        return f"{error['message']} ({error.get('code', 'error')}, HTTP {response.status_code})"
    return f"HTTP {response.status_code} {response.reason or ''}".strip()


def _short(exc: Exception) -> str:
    """requests' errors nest the useful part deep inside; the last line of the innermost one."""
    while exc.__context__ is not None and not str(exc):
        exc = exc.__context__
    text = str(exc)
    for marker in (
        "Connection refused",
        "Connection reset",
        "timed out",
        "Name or service not known",
        "No route to host",
        "Connection aborted",
    ):
        if marker in text:
            return marker.lower()
    return text.splitlines()[-1][:200] if text else type(exc).__name__
