"""Migrations: the schema they build is the ORM's, they are idempotent, and they go down and up."""

from __future__ import annotations

from datetime import datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from deepfake_detect.config import Settings
from deepfake_detect.jobs.db import (
    _alembic_config,
    current_revision,
    database_url,
    head_revision,
    make_engine,
    safe_url,
    upgrade,
)
from deepfake_detect.jobs.schema import Base
from deepfake_detect.jobs.store import JobStore


def downgrade_to_base(engine) -> None:
    with engine.begin() as conn:
        config = _alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, "base")


def test_migrations_build_the_orm_schema_and_run_twice(jobs_db_url):
    engine = make_engine(jobs_db_url)
    downgrade_to_base(engine)  # the session's PostgreSQL database may be migrated already
    assert current_revision(engine) is None
    assert upgrade(engine) == head_revision() == "0002"
    assert upgrade(engine) == "0002"  # a second start-up changes nothing
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        assert {"jobs", "webhook_attempts", "api_keys"} <= set(inspect(conn).get_table_names())
    downgrade_to_base(engine)  # and back down: the downgrade works too
    assert current_revision(engine) is None and "jobs" not in inspect(engine).get_table_names()
    assert upgrade(engine) == "0002"
    engine.dispose()


def test_upgrade_from_0001_keeps_the_jobs(jobs_db_url):
    """A database of the first release moves to 0002 with its jobs; they have no upload hash."""
    engine = make_engine(jobs_db_url)
    downgrade_to_base(engine)
    with engine.begin() as conn:
        config = _alembic_config()
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
        conn.execute(
            text(
                "INSERT INTO jobs (id, owner, state, video_name, upload_bytes, keep_upload, created_at, "
                "updated_at, attempts, webhook_state) VALUES ('0abc', '', 'queued', 'old.mp4', 7, false, "
                ":now, :now, 0, 'none')"
            ),
            {"now": datetime(2026, 12, 1)},
        )
    assert current_revision(engine) == "0001" and upgrade(engine) == "0002"
    job = JobStore(engine).get("0abc")
    assert job is not None and job.video_name == "old.mp4" and job.upload_sha256 is None
    engine.dispose()


def test_default_database_is_sqlite_in_the_data_dir(tmp_path):
    url = database_url(Settings(data_dir=tmp_path))
    assert url.get_backend_name() == "sqlite" and url.database == str(tmp_path.resolve() / "jobs.db")
    pg = database_url(Settings(database_url="postgresql+psycopg://svc:hunter2@db.internal/jobs"))
    assert safe_url(pg) == "postgresql+psycopg://svc:***@db.internal/jobs"
    assert "hunter2" not in str(
        Settings(database_url="postgresql+psycopg://svc:hunter2@h/j").model_dump(mode="json")
    )


def test_job_settings_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("WEBHOOK_ALLOWED_HOSTS", "hooks.example.com, *.Partner.org ,127.0.0.1")
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("WEBHOOK_SECRET", "s3cret")
    settings = Settings()
    assert settings.webhook_allowed_hosts == ["hooks.example.com", "*.partner.org", "127.0.0.1"]
    assert settings.data_dir == tmp_path and settings.job_workers == 1 and settings.result_ttl_days == 30
    assert "s3cret" not in str(settings.model_dump(mode="json"))  # /info shows settings: secrets masked
    monkeypatch.delenv("WEBHOOK_ALLOWED_HOSTS")
    assert Settings().webhook_allowed_hosts == []  # default: no callback host allowed
