"""Alembic environment: run with the connection that jobs.db.upgrade() hands over (config.attributes),
or, for `alembic` on the command line during development, with DATABASE_URL's engine."""

from __future__ import annotations

from alembic import context

from deepfake_detect.jobs.schema import Base


def run_migrations() -> None:
    # render_as_batch: SQLite alters tables only by copying them; Alembic's batch mode does that.
    connection = context.config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    from deepfake_detect.config import Settings  # developer use: alembic revision --autogenerate
    from deepfake_detect.jobs.db import database_url, make_engine

    with make_engine(database_url(Settings())).begin() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
        context.run_migrations()


if hasattr(context, "config"):  # run by Alembic; merely imported (doctest collection), it does nothing
    run_migrations()
