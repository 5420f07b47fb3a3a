"""The shared queue: Redis Streams with one consumer group, for a farm on several hosts.

The one module that knows the in-Redis layout (all keys under `ocrfarm:`):

    jobs                a stream, one entry per job waiting or running (its field `id`); group `workers`
    job:<id>            hash: `record` (the job record, JSON), `input` (the uploaded bytes), `size`,
                        `entry` (its stream entry), `epoch` (the fencing token, bumped by every take;
                        -1 once answered), `committed` (the epoch whose commit answered it)
    attempts:<id>       list of JSON lines, one per attempt start and end (as the spool's attempts.jsonl)
    progress:<id>       pages done, while it runs
    result:<id>         the job's one final record; expires after the retention, with job:<id>
    attachments:<id>    hash: files a dropped file's result comes with, by suffix (its searchable PDF),
                        for the intake of the host it was dropped on; expires with the result
    bytes               bytes of uploads waiting or running (the queue's limit in bytes)
    results             pub/sub channel: the id of every committed result
    workers, beats      hash of each worker's info; sorted set of its last heartbeat time

A job's life (ocrfarm/queue.py has the states), each move one Lua script, so each is atomic:

    (none)  -> QUEUED     SUBMIT: refuse past the limits, HSET job:<id>, XADD jobs
    QUEUED  -> RUNNING    CLAIM: XAUTOCLAIM an entry idle past the lease (a dead worker's, or one let
                          go for a retry), else XREADGROUP a new one; its delivery count is the attempt;
                          HINCRBY epoch (the take: a commit must bring this epoch)
    RUNNING -> RUNNING    RENEW: if the epoch is still ours, XCLAIM JUSTID our own entry (idle time 0,
                          no delivery counted)
    RUNNING -> QUEUED     RETRY: if ours, note the end line and XCLAIM IDLE past the lease, so that
                          the next CLAIM takes it at once
    RUNNING -> DONE/FAILED  COMMIT: if ours, SET result, XACK + XDEL the entry, PUBLISH its id;
                          a late commit (another epoch, or the job answered) is refused
    QUEUED  -> FAILED     cancel: TAKE if no worker holds the entry (never delivered, or idle past the
                          lease), bumping the epoch as a claim does, then COMMIT

A worker that lost its lease (stopped, cut off) finds another epoch and its commit is refused, so a
job never has two results (a fencing token, checked in the same script that writes the result).

Durability is Redis's: with `appendonly yes` and `appendfsync always` a script's writes are on disk
before its reply, as the spool's are after its fsync (README, "Running on several hosts").
"""

from __future__ import annotations

import functools
import json
import logging
import os
import select
import shutil
import socket
import time
from pathlib import Path

import redis

from ocrfarm.exceptions import LeaseLost, QueueFull, QueueUnavailable
from ocrfarm.jobs import Job, State, dump, error_body, fold_attempts, gave_up, whole_result
from ocrfarm.options import ANSWER_ONCE

log = logging.getLogger(__name__)

P = "ocrfarm:"
STREAM = P + "jobs"
GROUP = "workers"
BYTES = P + "bytes"
CHANNEL = P + "results"
WORKERS = P + "workers"
BEATS = P + "beats"
# Socket timeout: longer than any blocking read this module does.
SOCKET_TIMEOUT = 10.0
BLOCK_MAX = 5.0


def job_key(job_id: str) -> str:
    return f"{P}job:{job_id}"


def result_key(job_id: str) -> str:
    return f"{P}result:{job_id}"


def attempts_key(job_id: str) -> str:
    return f"{P}attempts:{job_id}"


def attachments_key(job_id: str) -> str:
    return f"{P}attachments:{job_id}"


def progress_key(job_id: str) -> str:
    return f"{P}progress:{job_id}"


SUBMIT = """
-- KEYS: stream, job, bytes. ARGV: record, input, size, max_jobs, max_bytes
if redis.call('EXISTS', KEYS[2]) == 1 then return 'exists' end
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[4]) then return 'jobs' end
local queued = tonumber(redis.call('GET', KEYS[3]) or '0')
if queued + tonumber(ARGV[3]) > tonumber(ARGV[5]) then return 'bytes' end
local id = cjson.decode(ARGV[1])['id']
local entry = redis.call('XADD', KEYS[1], '*', 'id', id)
redis.call('HSET', KEYS[2], 'record', ARGV[1], 'input', ARGV[2], 'size', ARGV[3], 'epoch', 0, 'entry', entry)
redis.call('INCRBY', KEYS[3], ARGV[3])
return 'ok'
"""

CLAIM = """
-- KEYS: stream. ARGV: group, consumer, lease_ms, prefix, max_attempts, worker, pid, now
local r = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], '0-0', 'COUNT', 1)
local entries = r[2]
if #entries == 0 then
  local read = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', 1, 'STREAMS', KEYS[1], '>')
  if not read then return false end
  entries = read[1][2]
  if #entries == 0 then return false end
end
local entry_id = entries[1][1]
local job_id = entries[1][2][2]
local job = ARGV[4] .. 'job:' .. job_id
if redis.call('EXISTS', job) == 0 then
  -- Damage (the job's hash is gone): nothing to run and nobody to answer.
  redis.call('XACK', KEYS[1], ARGV[1], entry_id)
  redis.call('XDEL', KEYS[1], entry_id)
  return {entry_id, job_id, 0, 0, false, false, {}}
end
local deliveries = redis.call('XPENDING', KEYS[1], ARGV[1], entry_id, entry_id, 1)[1][4]
local epoch = redis.call('HINCRBY', job, 'epoch', 1)
local attempts = ARGV[4] .. 'attempts:' .. job_id
if deliveries <= tonumber(ARGV[5]) then
  redis.call('RPUSH', attempts, cjson.encode({attempt = deliveries, worker = ARGV[6], pid = tonumber(ARGV[7]),
    started = tonumber(ARGV[8])}))
  redis.call('DEL', ARGV[4] .. 'progress:' .. job_id)
end
local fields = redis.call('HMGET', job, 'record', 'input')
return {entry_id, job_id, deliveries, epoch, fields[1], fields[2], redis.call('LRANGE', attempts, 0, -1)}
"""

RENEW = """
-- KEYS: job, stream. ARGV: epoch, group, consumer, entry
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] then return 0 end
redis.call('XCLAIM', KEYS[2], ARGV[2], ARGV[3], 0, ARGV[4], 'JUSTID')
return 1
"""

RETRY = """
-- KEYS: job, stream, attempts. ARGV: epoch, group, consumer, entry, end line, idle_ms
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] then return 0 end
redis.call('RPUSH', KEYS[3], ARGV[5])
redis.call('XCLAIM', KEYS[2], ARGV[2], ARGV[3], 0, ARGV[4], 'IDLE', ARGV[6], 'JUSTID')
return 1
"""

TAKE = """
-- KEYS: job, stream, result. ARGV: group, lease_ms. The take of a cancel: only while no worker has
-- the entry (never delivered, or idle past the lease: let go for a retry, or its worker died).
if redis.call('EXISTS', KEYS[3]) == 1 then return 'finished' end
if redis.call('EXISTS', KEYS[1]) == 0 then return 'unknown' end
local entry = redis.call('HGET', KEYS[1], 'entry')
local pending = redis.call('XPENDING', KEYS[2], ARGV[1], entry, entry, 1)
if #pending > 0 and pending[1][3] < tonumber(ARGV[2]) then return 'running' end
return {redis.call('HINCRBY', KEYS[1], 'epoch', 1), redis.call('HGET', KEYS[1], 'record')}
"""

COMMIT = """
-- KEYS: job, stream, result, bytes, attempts, progress, attachments.
-- ARGV: epoch, group, record, retention_s, channel, id, then suffix and bytes of each attachment
-- 'answered': this very commit went through before (its reply was lost and it was sent again).
if redis.call('HGET', KEYS[1], 'committed') == ARGV[1] then return 'answered' end
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] then return 'lost' end
if redis.call('EXISTS', KEYS[3]) == 1 then return 'lost' end
local entry = redis.call('HGET', KEYS[1], 'entry')
if #ARGV > 6 then
  redis.call('HSET', KEYS[7], unpack(ARGV, 7))
  redis.call('EXPIRE', KEYS[7], ARGV[4])
end
redis.call('SET', KEYS[3], ARGV[3], 'EX', ARGV[4])
redis.call('XACK', KEYS[2], ARGV[2], entry)
redis.call('XDEL', KEYS[2], entry)
redis.call('DECRBY', KEYS[4], redis.call('HGET', KEYS[1], 'size'))
-- The upload is kept as long as its result (page images, annotated copies).
redis.call('HSET', KEYS[1], 'epoch', -1, 'committed', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('DEL', KEYS[5], KEYS[6])
redis.call('PUBLISH', ARGV[5], ARGV[6])
return 'ok'
"""


def reachable(method):
    """Redis's connection errors become QueueUnavailable: the farm's trouble, which the routes
    answer with 503 and the workers and the intake wait out (ocrfarm/trouble.py)."""

    @functools.wraps(method)
    def call(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise QueueUnavailable(f"Redis: {exc}") from exc
        except redis.ResponseError as exc:
            if "LOADING" in str(exc) or "MISCONF" in str(exc):
                raise QueueUnavailable(f"Redis: {exc}") from exc
            raise

    return call


class RedisQueue:
    """The queue in the Redis server at `url`; `local` is this host's spool folder, which still
    holds its drop folder (ocrfarm/relay.py) and its metrics."""

    kind = "redis"

    def __init__(
        self,
        url: str,
        local: Path,
        *,
        max_attempts: int = 3,
        max_queue: int = 1000,
        max_queue_bytes: int = 1 << 30,
        lease: float = 30.0,
        retention: float = 7 * 86400.0,
        keep_originals: bool = True,
        on_close=None,
    ):
        from ocrfarm.relay import DropRelay

        self.url = url
        self.client = redis.Redis.from_url(
            url, socket_timeout=SOCKET_TIMEOUT, socket_connect_timeout=2.0, health_check_interval=30
        )
        self.root = Path(local)
        self.max_attempts = max_attempts
        self.max_queue = max_queue
        self.max_queue_bytes = max_queue_bytes
        self.lease = lease
        self.retention = retention
        self.on_close = on_close
        self.relay = DropRelay(self, self.root, keep_originals)
        self.inbox = self.relay.drop.inbox
        self._scripts = {
            name: self.client.register_script(source)
            for name, source in (
                ("submit", SUBMIT),
                ("claim", CLAIM),
                ("renew", RENEW),
                ("retry", RETRY),
                ("take", TAKE),
                ("commit", COMMIT),
            )
        }
        self._group_made = False

    @classmethod
    def from_settings(cls, settings, on_close=None) -> RedisQueue:
        return cls(
            settings.queue,
            settings.spool,
            max_attempts=settings.max_attempts,
            max_queue=settings.max_queue,
            max_queue_bytes=settings.max_queue_bytes,
            lease=settings.lease,
            retention=settings.retention_days * 86400,
            keep_originals=settings.keep_originals,
            on_close=on_close,
        ).ensure()

    def ensure(self) -> RedisQueue:
        """Make this host's folders; the consumer group is made on first use (Redis may be down now)."""
        self.relay.ensure()
        self.metrics_dir.mkdir(parents=True, exist_ok=True)
        return self

    @property
    def metrics_dir(self) -> Path:
        return self.root / "metrics"

    def _script(self, name: str, keys: list, args: list):
        if not self._group_made:
            self._make_group()
        try:
            return self._scripts[name](keys=keys, args=args)
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            # Redis lost the group (restarted without its append-only file): make it again.
            self._make_group()
            return self._scripts[name](keys=keys, args=args)

    def _make_group(self) -> None:
        try:
            # From the start of the stream: entries added before the group existed are jobs too.
            self.client.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_made = True

    # ---- the front's side -------------------------------------------------------------------

    def submit(self, data: bytes, *, source: str, filename: str = "", options: dict | None = None) -> Job:
        job = Job.new(len(data), source=source, filename=filename, options=options)
        self.submit_job(job, data)
        return job

    @reachable
    def submit_job(self, job: Job, data: bytes) -> bool:
        """Queue `job` with its bytes; False if a job of that id is known already (a resubmission)."""
        outcome = self._script(
            "submit",
            [STREAM, job_key(job.id), BYTES],
            [dump(job.record()), data, len(data), self.max_queue, self.max_queue_bytes],
        ).decode()
        if outcome == "jobs":
            raise QueueFull(f"{self.max_queue} jobs are already waiting")
        if outcome == "bytes":
            raise QueueFull(f"the queue holds {self.max_queue_bytes} bytes of uploads, its limit")
        return outcome == "ok"

    @reachable
    def result(self, job_id: str) -> dict | None:
        return whole_result(self.client.get(result_key(job_id)))

    @reachable
    def status(self, job_id: str) -> dict | None:
        pipe = self.client.pipeline(transaction=True)
        pipe.get(result_key(job_id)).exists(job_key(job_id)).lrange(attempts_key(job_id), 0, -1)
        pipe.get(progress_key(job_id))
        raw, exists, lines, progress = pipe.execute()
        record = whole_result(raw)
        if record is not None:
            return record
        if not exists:
            return None
        attempts = fold_attempts(lines)
        running = bool(attempts) and "outcome" not in attempts[-1]
        status = {
            "id": job_id,
            "status": State.RUNNING if running else State.QUEUED,
            "attempts": len(attempts),
        }
        if running and progress:
            status["progress"] = json.loads(progress)
        return status

    @reachable
    def input_bytes(self, job_id: str) -> bytes | None:
        return self.client.hget(job_key(job_id), "input")

    @reachable
    def cancel(self, job_id: str) -> str:
        taken = self._script(
            "take", [job_key(job_id), STREAM, result_key(job_id)], [GROUP, int(self.lease * 1000)]
        )
        if isinstance(taken, bytes):
            return taken.decode()
        epoch, record = taken
        job = Job.from_record(json.loads(record))
        attempts = fold_attempts(self.client.lrange(attempts_key(job_id), 0, -1))
        body = error_body("cancelled", "the job was cancelled by a client")
        # A worker that claimed it since our take has a newer epoch: the commit is refused.
        outcome = self._commit(job, epoch, job.final_record(State.FAILED, body, attempts))
        if outcome == "lost":
            # A worker claimed it since our take (its epoch is newer), or it was answered meanwhile.
            return "finished" if self.client.exists(result_key(job_id)) else "running"
        return "cancelled"

    @reachable
    def forget(self, job_id: str) -> None:
        """Delete a finished job's record, its upload and its attachments once answered (identity
        cards, issue 14)."""
        self.client.delete(result_key(job_id), job_key(job_id), attachments_key(job_id))

    def watch_results(self) -> ResultChannel:
        return ResultChannel(self)

    @reachable
    def has_result(self, job_id: str) -> bool:
        return bool(self.client.exists(result_key(job_id)))

    @reachable
    def depth(self) -> int:
        return self.client.xlen(STREAM)

    @reachable
    def oldest_age(self) -> float | None:
        # Entry ids start with the milliseconds at which they were added.
        first = self.client.xrange(STREAM, count=1)
        if not first:
            return None
        added_ms = int(first[0][0].split(b"-")[0])
        return max(0.0, time.time() - added_ms / 1000)

    def free_bytes(self) -> int:
        """Room on this host's disk (its drop folder)."""
        return shutil.disk_usage(self.root).free

    @reachable
    def room(self) -> dict:
        queued = int(self.client.get(BYTES) or 0)
        return {
            "disk_free_bytes": self.free_bytes(),
            "queue_bytes_free": max(0, self.max_queue_bytes - queued),
        }

    # ---- this host's drop folder ----------------------------------------------------------------

    def watch_inbox(self, use_inotify: bool, extra_fds: tuple[int, ...] = ()):
        return self.relay.watch_inbox(use_inotify, extra_fds)

    def accept_dropped(self, path: Path, options: dict | None = None) -> Job | None:
        return self.relay.accept_dropped(path, options)

    def recover_dropped(self) -> int:
        return self.relay.recover_dropped()

    def deliver_dropped(self) -> int:
        return self.relay.deliver_dropped()

    def awaiting_delivery(self) -> bool:
        return self.relay.awaiting_delivery()

    @reachable
    def results_of(self, job_ids: list[str]) -> dict[str, dict | None]:
        """The final record (or None) of each job; the relay asks for all it holds at once."""
        if not job_ids:
            return {}
        raws = self.client.mget([result_key(job_id) for job_id in job_ids])
        return {job_id: whole_result(raw) for job_id, raw in zip(job_ids, raws, strict=True)}

    @reachable
    def attachments(self, job_id: str) -> dict[str, bytes]:
        return {
            suffix.decode(): data for suffix, data in self.client.hgetall(attachments_key(job_id)).items()
        }

    @reachable
    def known(self, job_ids: list[str]) -> dict[str, bool]:
        pipe = self.client.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.exists(job_key(job_id), result_key(job_id))
        return {job_id: bool(n) for job_id, n in zip(job_ids, pipe.execute(), strict=True)}

    # ---- the workers' side ------------------------------------------------------------------

    def consumer(self, worker: str) -> str:
        # Unique across hosts and restarts: two hosts both have a worker-01.
        return f"{socket.gethostname()}/{os.getpid()}/{worker}"

    @reachable
    def claim(self, worker: str) -> RedisClaim | None:
        consumer = self.consumer(worker)
        for _ in range(100):  # each turn either hands out a job or retires one; bounded all the same
            found = self._script(
                "claim",
                [STREAM],
                [
                    GROUP,
                    consumer,
                    int(self.lease * 1000),
                    P,
                    self.max_attempts,
                    worker,
                    os.getpid(),
                    time.time(),
                ],
            )
            if found is None:
                return None
            entry, job_id, deliveries, epoch, record, data, lines = found
            job_id = job_id.decode()
            if record is None:
                log.error("job %s has no job record in Redis; its stream entry was removed", job_id)
                continue
            try:
                job = Job.from_record(json.loads(record))
            except (ValueError, KeyError) as exc:
                log.error("job %s has an unreadable job record (%s); failing it", job_id, exc)
                self._commit(
                    Job.damaged(job_id),
                    epoch,
                    Job.damaged(job_id).final_record(
                        State.FAILED, error_body("bad_job", f"unreadable job record: {exc}"), []
                    ),
                )
                continue
            poison = deliveries > self.max_attempts
            claim = RedisClaim(
                self, job, entry, epoch, consumer, fold_attempts(lines), data, running=not poison
            )
            if poison:
                # Poison: delivered past the limit (each delivery was a worker that failed or died).
                claim._close(State.FAILED, gave_up(claim.history))
                continue
            return claim
        return None

    def watch_work(self, extra_fds: tuple[int, ...] = ()) -> StreamWatch:
        return StreamWatch(self, extra_fds)

    @reachable
    def heartbeat(self, worker: str, info: dict | None = None) -> None:
        name = self.consumer(worker)
        pipe = self.client.pipeline(transaction=False)
        if info is not None:
            pipe.hset(WORKERS, name, dump(info))
        pipe.zadd(BEATS, {name: time.time()})
        pipe.execute()

    @reachable
    def live_workers(self, max_age: float) -> list[dict]:
        names = self.client.zrangebyscore(BEATS, time.time() - max_age, "+inf")
        if not names:
            return []
        return [json.loads(info) for info in self.client.hmget(WORKERS, names) if info]

    @reachable
    def sweep(self, retention: float, tmp_max_age: float) -> dict[str, int]:
        """Results and uploads expire by themselves; only the registry of workers long gone is cleared."""
        gone = self.client.zrangebyscore(BEATS, "-inf", time.time() - retention)
        if gone:
            self.client.zrem(BEATS, *gone)
            self.client.hdel(WORKERS, *gone)
        return {"heartbeats": len(gone), **self.relay.sweep(tmp_max_age)}

    def _commit(self, job: Job, epoch, record: dict, attachments: dict[str, bytes] | None = None) -> str:
        keys = [
            job_key(job.id),
            STREAM,
            result_key(job.id),
            BYTES,
            attempts_key(job.id),
            progress_key(job.id),
        ]
        args = [epoch, GROUP, dump(record), max(1, int(self.retention)), CHANNEL, job.id]
        for suffix, data in (attachments or {}).items():
            args += [suffix, data]
        outcome = self._script("commit", [*keys, attachments_key(job.id)], args).decode()
        if outcome == "ok" and self.on_close is not None:
            self.on_close(record)
        return outcome


class RedisClaim:
    """A running job: ours while the epoch in Redis is the one our take got."""

    def __init__(
        self,
        queue: RedisQueue,
        job: Job,
        entry: bytes,
        epoch: int,
        consumer: str,
        history,
        data,
        running=True,
    ):
        self.queue = queue
        self.job = job
        self.entry = entry
        self.epoch = epoch
        self.consumer = consumer
        self.history = history
        self.data = data
        self.started = time.time()
        self.running = running  # False when the claim only retires a job out of attempts

    @property
    def attempt(self) -> int:
        return len(self.history)

    def read_input(self) -> bytes:
        return self.data or b""

    @reachable
    def renew(self) -> None:
        renewed = self.queue._script(
            "renew", [job_key(self.job.id), STREAM], [self.epoch, GROUP, self.consumer, self.entry]
        )
        if not renewed:
            raise LeaseLost(f"job {self.job.id}: the lease ran out and another worker took the job")

    @reachable
    def progress(self, done: int, total: int) -> None:
        self.queue.client.set(
            progress_key(self.job.id), dump({"pages_done": done, "pages_total": total}), ex=86400
        )

    def finish(self, result: dict, attachments: dict[str, bytes] | None = None) -> dict:
        """Commit the result; `attachments` (by suffix) go to the intake of the host the file was
        dropped on, which delivers them beside the result (outbox/<name>.pdf)."""
        return self._close(State.DONE, result, attachments)

    def fail(self, code: str, message: str, options: dict | None = None) -> dict:
        return self._close(
            State.FAILED, {**error_body(code, message), **({"options": options} if options else {})}
        )

    @reachable
    def retry(self, reason: str) -> None:
        self.history[-1].update(outcome="error", reason=reason, ended=time.time())
        # Idle past the lease: the next claim, on any host, takes it at once.
        idle_ms = int(self.queue.lease * 1000) * 10
        done = self.queue._script(
            "retry",
            [job_key(self.job.id), STREAM, attempts_key(self.job.id)],
            [self.epoch, GROUP, self.consumer, self.entry, dump(self.history[-1]), idle_ms],
        )
        if not done:
            raise LeaseLost(f"job {self.job.id}: another worker took the job before this attempt ended")

    @reachable
    def _close(self, state: State, body: dict, attachments: dict[str, bytes] | None = None) -> dict:
        if self.running:
            self.history[-1].update(outcome=state.value, reason=None, ended=time.time())
        record = self.job.final_record(state, body, self.history)
        outcome = self.queue._commit(self.job, self.epoch, record, attachments)
        if outcome == "ok" and self.job.options.get(ANSWER_ONCE):
            # An upload answered once (POST /v1/idcard) is not kept with its result.
            self.queue.client.hdel(job_key(self.job.id), "input")
        if outcome == "lost":
            raise LeaseLost(f"job {self.job.id}: the lease ran out and another worker took the job")
        if outcome == "answered":
            return self.queue.result(self.job.id) or record
        return record


class ResultChannel:
    """Wakes on the notification of each committed result (Redis pub/sub)."""

    mode = "redis pub/sub"

    def __init__(self, queue: RedisQueue):
        self.pubsub = queue.client.pubsub(ignore_subscribe_messages=True)
        try:
            self.pubsub.subscribe(CHANNEL)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise QueueUnavailable(f"Redis: {exc}") from exc

    def wait(self, timeout: float) -> list[str]:
        try:
            message = self.pubsub.get_message(timeout=min(timeout, BLOCK_MAX))
            ids = []
            while message is not None:
                ids.append(message["data"].decode())
                message = self.pubsub.get_message(timeout=0)
            return ids
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise QueueUnavailable(f"Redis: {exc}") from exc

    def close(self) -> None:
        try:
            self.pubsub.close()
        except (redis.ConnectionError, redis.TimeoutError):
            pass


class StreamWatch:
    """Sleeps until an entry is added to the stream (a blocking XREAD), or one of `extra_fds` (the
    worker's stop flag) is readable, or the timeout. Retried and reclaimed jobs add no entry: an
    idle worker finds them at the next poll interval."""

    mode = "redis stream"

    def __init__(self, queue: RedisQueue, extra_fds: tuple[int, ...]):
        self.queue = queue
        self.extra_fds = extra_fds

    def wait(self, timeout: float) -> list:
        ready, _, _ = select.select(list(self.extra_fds), [], [], 0)
        if ready:
            for fd in ready:
                try:
                    os.read(fd, 65536)
                except (BlockingIOError, InterruptedError):
                    pass
            return []
        try:
            # The newest entry now, so the read wakes only on one added after it.
            last = self.queue.client.xrevrange(STREAM, count=1)
            since = last[0][0] if last else b"0-0"
            self.queue.client.xread(
                {STREAM: since}, count=1, block=max(1, int(min(timeout, BLOCK_MAX) * 1000))
            )
        except (redis.ConnectionError, redis.TimeoutError):
            # Redis is away: sleep as long as asked; the next claim meets the error and waits it out.
            select.select(list(self.extra_fds), [], [], timeout)
        return []

    def close(self) -> None:
        pass
