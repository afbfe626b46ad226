"""Settings of the event fabric: where NATS is, which stream, how much per round."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# A subject token: no spaces, dots, wildcards or control characters.
_PART = r"[A-Za-z0-9_\-]+"
_NAME = r"^[A-Za-z0-9_\-]{1,64}$"


class NatsSettings(BaseSettings):
    """NATS JetStream settings. Each field is an ``INTERLOCK_NATS_<NAME>`` variable.

    Outbound, canonical events leave the outbox for ``<subject_prefix>interlock.<type>`` on
    ``stream``. Inbound, the durable pull consumer ``durable`` reads ``inbound_subject`` from
    ``inbound_stream`` (default: ``stream``).
    """

    model_config = SettingsConfigDict(env_prefix="INTERLOCK_NATS_", extra="ignore")

    url: str = Field(
        "nats://127.0.0.1:4222",
        description="Server URL; several servers of one cluster separated by commas.",
        examples=["nats://nats-1:4222,nats://nats-2:4222"],
    )
    token: SecretStr | None = Field(
        None, description="Authentication token, if the server wants one."
    )
    credentials_file: str | None = Field(
        None, description="Path of a .creds file (JWT and NKey seed) for decentralised auth."
    )
    publish: bool = Field(False, description="Relay the outbox to NATS in the worker loop.")
    consume: bool = Field(False, description="Journal events from the inbound subject.")
    stream: str = Field(
        "INTERLOCK", pattern=_NAME, description="JetStream stream the hub publishes to."
    )
    subjects: list[str] = Field(
        ["interlock.>"],
        min_length=1,
        description="Subjects the stream captures; must cover every published subject.",
    )
    subject_prefix: str = Field(
        "",
        pattern=rf"^({_PART}\.)*$",
        description="Put before every published subject, e.g. 'prod.' to share one account "
        "between installations; then set subjects to ['prod.interlock.>'].",
    )
    duplicate_window_seconds: float = Field(
        120.0,
        gt=0,
        description="How long JetStream remembers a Nats-Msg-Id; a re-publish of the same "
        "outbox message inside the window is dropped.",
    )
    max_age_seconds: float | None = Field(
        None, gt=0, description="Discard stream messages older than this (default: keep)."
    )
    replicas: int = Field(1, ge=1, le=5, description="Stream replicas (clustered servers).")
    relay_batch: int = Field(
        256, ge=1, le=4000, description="Outbox messages claimed, published and marked per round."
    )
    publish_timeout_seconds: float = Field(
        10.0, gt=0, description="How long a round waits for the acknowledgements of its batch."
    )
    inbound_stream: str | None = Field(
        None, pattern=_NAME, description="Stream to consume from (default: stream)."
    )
    inbound_subject: str = Field(
        "interlock.>", min_length=1, description="Subject filter of the inbound consumer."
    )
    durable: str = Field(
        "interlock-hub",
        pattern=_NAME,
        description="Durable pull consumer name (shared by workers).",
    )
    inbound_batch: int = Field(256, ge=1, le=4096, description="Messages fetched per round.")
    fetch_wait_seconds: float = Field(
        0.25, gt=0, description="How long a round waits for messages when none are waiting."
    )
    ack_wait_seconds: float = Field(
        30.0,
        gt=0,
        description="A fetched message not acknowledged within this is delivered again.",
    )
    max_ack_pending: int = Field(
        1000, ge=1, description="Messages delivered but not yet acknowledged, across workers."
    )
    own_source: str = Field(
        "/interlock",
        min_length=1,
        description="CloudEvents source of the events this hub emits; inbound events from it "
        "(or from below it, '<own_source>/...') are skipped, so published events never come "
        "back as new work.",
    )
    connect_timeout_seconds: float = Field(2.0, gt=0, description="Connection timeout.")
    request_timeout_seconds: float = Field(
        5.0, gt=0, description="Timeout of JetStream API requests (stream and consumer info)."
    )

    @field_validator("subjects")
    @classmethod
    def _subjects(cls, value: list[str]) -> list[str]:
        for subject in value:
            if not subject or " " in subject:
                raise ValueError(f"{subject!r} is not a NATS subject")
        return value

    @property
    def servers(self) -> list[str]:
        """The server URLs."""
        return [part.strip() for part in self.url.split(",") if part.strip()]

    @property
    def consume_stream(self) -> str:
        """The stream the inbound consumer reads."""
        return self.inbound_stream or self.stream

    def publish_subject(self, outbox_subject: str) -> str:
        """The NATS subject an outbox message is published on."""
        return f"{self.subject_prefix}{outbox_subject}"
