"""The jobs database: three tables (docs/jobs.md draws them). Alembic migrations in migrations/ create
them; this module is the ORM's view, and autogenerate compares the two.

Times are UTC everywhere; SQLite keeps no zone, so `UTCDateTime` puts it back on the way out.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Constraint names fixed up front, so migrations name them the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

STATES = ("queued", "running", "succeeded", "failed", "cancelled")
ACTIVE = ("queued", "running")
# none: no callback_url; waiting: the job has not ended; pending: due (again) at webhook_next_at
WEBHOOK_STATES = ("none", "waiting", "pending", "delivering", "delivered", "failed")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to the jobs database; use UTC-aware times")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Job(Base):
    __tablename__ = "jobs"
    # Time-ordered text id (hex ms since epoch + random): newest-first listing and cursors need no
    # second column, and ids stay unguessable.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64), default="")  # API key name; "" when the service is open
    state: Mapped[str] = mapped_column(String(16), default="queued")
    video_name: Mapped[str] = mapped_column(String(255))
    upload_bytes: Mapped[int] = mapped_column(Integer)
    # Of the upload's bytes: a reused Idempotency-Key must bring the same file (null before revision 0002).
    upload_sha256: Mapped[str | None] = mapped_column(String(64))
    keep_upload: Mapped[bool] = mapped_column(Boolean, default=False)  # kept until the job is deleted
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    callback_url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The claim: a fresh token per claim fences off a worker whose lease ran out (its writes match nothing).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(128))
    lease_token: Mapped[str | None] = mapped_column(String(32))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    progress_stage: Mapped[str | None] = mapped_column(String(16))
    progress_done: Mapped[int | None] = mapped_column(Integer)
    progress_total: Mapped[int | None] = mapped_column(Integer)
    # The outcome: the VideoReport (succeeded) or a problem+json body (failed); summary columns to filter on.
    prediction: Mapped[str | None] = mapped_column(String(8))
    fake_probability: Mapped[float | None] = mapped_column(Float)
    model_id: Mapped[str | None] = mapped_column(String(64))
    result: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[dict | None] = mapped_column(JSON)
    # Webhook delivery, claimed like the job itself.
    webhook_state: Mapped[str] = mapped_column(String(16), default="none")
    webhook_next_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    webhook_lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    webhook_attempts: Mapped[list[WebhookAttempt]] = relationship(
        back_populates="job", order_by="WebhookAttempt.attempt", cascade="all, delete-orphan", lazy="selectin"
    )

    __table_args__ = (
        UniqueConstraint("owner", "idempotency_key"),
        Index(None, "state", "lease_expires_at"),
        Index(None, "owner", "state"),
        Index(None, "owner", "upload_sha256"),  # "has this file been analysed?" (GET /jobs?sha256=)
        Index(None, "webhook_state", "webhook_next_at"),
        Index(None, "finished_at"),
    )


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    url: Mapped[str] = mapped_column(Text)
    event: Mapped[str] = mapped_column(String(32))
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[float] = mapped_column(Float)
    delivered: Mapped[bool] = mapped_column(Boolean)

    job: Mapped[Job] = relationship(back_populates="webhook_attempts")


class ApiKey(Base):
    __tablename__ = "api_keys"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    webhook_secret: Mapped[str] = mapped_column(String(128))  # must be readable to sign with
    rate_limit: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
