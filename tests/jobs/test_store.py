"""JobStore on SQLite and PostgreSQL: atomic claims under contention, expiring leases that fence off
a lost worker, poison jobs, hand-back at shutdown."""

from __future__ import annotations

import threading
import time

import pytest

from deepfake_detect.jobs.db import make_engine, upgrade
from deepfake_detect.jobs.store import JobFilter, JobStore, new_job_id


@pytest.fixture
def store(jobs_db_url):
    engine = make_engine(jobs_db_url)
    upgrade(engine)
    yield JobStore(engine)
    engine.dispose()


def queue(store: JobStore, n: int) -> list[str]:
    ids = []
    for i in range(n):
        job, created = store.create(new_job_id(), "", f"v{i}.mp4", 10)
        assert created
        ids.append(job.id)
    return ids


def test_ids_sort_by_creation():
    first = new_job_id()
    time.sleep(0.002)
    assert new_job_id() > first and len(first) == 28 and first.isalnum()


def test_concurrent_claims_take_every_job_exactly_once(store, jobs_db_url):
    ids = queue(store, 40)
    claimed: list[str] = []
    lock = threading.Lock()
    engines = [make_engine(jobs_db_url) for _ in range(6)]  # one pool each, as separate processes have

    def drain(engine):
        mine = JobStore(engine)
        while (claim := mine.claim(f"w{id(engine)}", lease_s=60, max_attempts=3)) is not None:
            with lock:
                claimed.append(claim.job_id)

    threads = [threading.Thread(target=drain, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for e in engines:
        e.dispose()
    assert sorted(claimed) == sorted(ids)  # none missed, none twice
    assert store.counts_by_state() == {"running": 40}


def test_an_expired_lease_passes_the_job_on_and_fences_the_old_worker(store):
    [job_id] = queue(store, 1)
    old = store.claim("old", lease_s=30, max_attempts=3)  # long: a slow disk must not expire it early
    assert old.attempts == 1 and store.claim("new", lease_s=60, max_attempts=3) is None  # lease still held
    assert store.progress(job_id, old.token, "detect", 1, 4, lease_s=0.2)  # the last renewal it gets
    time.sleep(0.3)
    new = store.claim("new", lease_s=60, max_attempts=3)
    assert new.job_id == job_id and new.attempts == 2 and new.token != old.token
    # the old worker wakes up: none of its writes land
    assert not store.progress(job_id, old.token, "classify", 1, 1, lease_s=60)
    assert not store.succeed(job_id, old.token, {"prediction": "FAKE", "fake_probability": 0.9})
    assert not store.renew(job_id, old.token, 60)
    assert store.succeed(job_id, new.token, {"prediction": "REAL", "fake_probability": 0.1, "model_id": "m"})
    assert not store.succeed(job_id, new.token, {"prediction": "FAKE"})  # and only once
    job = store.get(job_id)
    assert (job.state, job.prediction, job.worker, job.attempts) == ("succeeded", "REAL", "new", 2)


def test_a_job_whose_workers_keep_dying_fails(store):
    [job_id] = queue(store, 1)
    for _ in range(2):
        assert store.claim("w", lease_s=0.05, max_attempts=2) is not None
        time.sleep(0.1)
    assert store.claim("w", lease_s=0.05, max_attempts=2) is None  # two attempts used up
    assert store.fail_abandoned(max_attempts=2) == [(job_id, False)]
    job = store.get(job_id)
    assert job.state == "failed" and job.error["status"] == 500 and "stopped 2 times" in job.error["detail"]


def test_release_hands_a_job_back_without_counting_the_attempt(store):
    [job_id] = queue(store, 1)
    claim = store.claim("w", lease_s=60, max_attempts=3)
    assert store.release(job_id, claim.token)
    assert store.get(job_id).state == "queued" and store.get(job_id).attempts == 0
    assert store.claim("w2", lease_s=60, max_attempts=3).attempts == 1


def test_cancel_stops_writes_of_the_running_worker(store):
    [job_id] = queue(store, 1)
    claim = store.claim("w", lease_s=60, max_attempts=3)
    assert store.cancel(job_id, owner="")
    assert not store.progress(job_id, claim.token, "detect", 0, 4, 60)
    assert not store.succeed(job_id, claim.token, {"prediction": "REAL"})
    assert store.get(job_id).state == "cancelled" and not store.cancel(job_id, owner="")


def test_idempotency_key_is_per_owner(store):
    a, created = store.create(new_job_id(), "alice", "a.mp4", 1, idempotency_key="k")
    again, created_again = store.create(new_job_id(), "alice", "b.mp4", 1, idempotency_key="k")
    b, created_b = store.create(new_job_id(), "bob", "c.mp4", 1, idempotency_key="k")
    assert created and not created_again and again.id == a.id and created_b and b.id != a.id
    assert [j.id for j in store.list_jobs("alice", JobFilter(), None, 10)[0]] == [a.id]
