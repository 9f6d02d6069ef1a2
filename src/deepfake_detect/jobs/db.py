"""Engine and migrations: a SQLite file in DATA_DIR unless DATABASE_URL names another database.

SQLite runs in WAL mode (readers never wait for the writer) with a 30 s busy timeout, so the server
and `deepfake-detect worker` processes on one machine share the file; claims stay atomic because each
is one UPDATE statement, which SQLite's single writer applies whole. PostgreSQL is for several machines.

Migrations run at start-up and by `deepfake-detect db upgrade`; concurrent starters (several workers,
Ray Serve replicas) take a lock first: a PostgreSQL advisory lock, or a file lock beside the SQLite file.
"""

from __future__ import annotations

import fcntl
import logging
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.engine import URL

from ..config import Settings

log = logging.getLogger("deepfake_detect.jobs")
# Alembic logs a line per plugin at INFO as it loads (imported lazily below); upgrade() logs one of ours.
logging.getLogger("alembic").setLevel(logging.WARNING)
_MIGRATIONS = "deepfake_detect.jobs:migrations"
_PG_LOCK_ID = 0x6466_6A6F_6273  # "dfjobs": one advisory lock id for every migrating process


def database_url(settings: Settings) -> URL:
    if settings.database_url is not None:
        return make_url(settings.database_url.get_secret_value())
    return make_url(f"sqlite:///{Path(settings.data_dir).resolve() / 'jobs.db'}")


def safe_url(url: URL) -> str:
    """The URL with its password hidden, for /info and logs."""
    return url.render_as_string(hide_password=True)


def make_engine(url: URL | str) -> Engine:
    url = make_url(url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000"):
                cursor.execute(f"PRAGMA {pragma}")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _alembic_config():
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", _MIGRATIONS)
    return config


@contextmanager
def _migration_lock(engine: Engine):
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _PG_LOCK_ID})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": _PG_LOCK_ID})
                conn.commit()
    elif engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        with open(f"{engine.url.database}.migrate.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield
    else:
        yield


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Bring the schema to `revision`; returns the revision the database is at afterwards."""
    with _migration_lock(engine):
        before = current_revision(engine)
        with engine.begin() as conn:
            config = _alembic_config()
            from alembic import command

            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    after = current_revision(engine)
    if after != before:
        log.info("jobs database %s migrated: %s -> %s", safe_url(engine.url), before, after)
    return after


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()
