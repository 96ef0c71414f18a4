"""Typed settings, read from ``THIDUA_*`` environment variables by entry points only, one class per process.

``NodeSettings`` is what every process of a node shares: the node, its database, its signing key, its place in the
tree, the broker connection and logging. Each entry point reads only its own class: ``thidua serve`` the
``ApiSettings`` (HTTP API, webhooks, web app, automatic checkpoints), ``thidua relay`` the ``RelaySettings``,
``thidua worker`` the ``WorkerSettings``, ``thidua sync`` the ``SyncSettings``; the one-shot commands read the class
of what they do (``thidua topics`` the ``TopicSettings``, ``thidua audit`` the ``AuditSettings``). ``Settings`` holds
them all, for what spans processes (the benchmarks, tests) and for the settings table of the docs. The variable
names are the same in every class: ``THIDUA_`` + the field name upper-cased.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from .errors import InvalidSetting
from .schemas import DEFAULT_SCHEMAS_DIR


class NodeSettings(BaseSettings):
    """What every process of a node reads. Built in the entry point and passed to ``bootstrap``; domain code never
    reads it."""

    model_config = SettingsConfigDict(env_prefix="THIDUA_", extra="ignore", title="Settings")

    data_dir: Path = Field(Path("var"), description="Folder for the embedded SQLite file and local state.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default: SQLite file <data_dir>/thidua.db (the embedded default)."
    )
    kafka_bootstrap_servers: str | None = Field(None, description="Kafka brokers, host:port[,host:port].")
    node_id: str = Field("local", description="Id of this node, e.g. central, p46 (Huế), p15 (Lào Cai).")
    schemas_dir: Path = Field(DEFAULT_SCHEMAS_DIR, description="Folder of the Avro contracts.")
    projection_batch_size: int = Field(500, description="Events per projection transaction.")
    projection_catchup_batch_size: int | None = Field(
        None,
        description="Events per projection transaction while the embedded tail is behind (rebuild, restart, as-of "
        "builds); default 20,000 on PostgreSQL (a batch sums many reports per commune before writing its counters), "
        "2,000 on SQLite (a batch holds the only write lock).",
    )
    projection_poll_seconds: float = Field(0.2, description="Idle poll interval of the embedded tail.")
    projection_linger_seconds: float = Field(
        0.02,
        ge=0,
        description="After a batch of 3 events or more (load), the embedded tail waits this long so the next batch "
        "gathers more: fewer, larger batches (throughput) for at most this much added latency; 0 turns it off.",
    )
    log_level: str = Field("INFO", description="Logging level.")
    log_json: bool = Field(True, description="Relay and workers log one JSON object per line (with correlation ids).")

    # The broker connection (docs/pipeline.md): the relay, workers, sync, topics, replay from Kafka, /metrics.
    kafka_security_protocol: str = Field("PLAINTEXT", description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL.")
    kafka_sasl_mechanism: str | None = Field(None, description="PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.")
    kafka_sasl_username: str | None = Field(None, description="SASL user of this node's processes.")
    kafka_sasl_password: SecretStr | None = Field(None, description="SASL password.")
    kafka_ssl_cafile: Path | None = Field(None, description="CA bundle that signed the brokers' certificates.")
    kafka_connect_timeout_seconds: float = Field(
        5.0,
        gt=0,
        description="How long one-shot commands (topics create, pipeline status, sync reconcile, replay from Kafka) "
        "and a /metrics scrape wait for a broker to answer before saying it cannot be reached.",
    )

    # The node's place in the tree (docs/sync.md): topic names, the rollup of children, witnesses, sync routes, and
    # where the other nodes' topics are on this cluster.
    parent_node: str | None = Field(None, description="Node id of the parent (a province: central; central: none).")
    child_nodes: str = Field("", description="Comma-separated node ids of the children (central: the provinces).")
    sync_remote_topic_prefix: str = Field(
        "", description="Prefix of other nodes' topics here; {source} = their node id (MirrorMaker 2: '{source}.')."
    )
    # The consumer group of the node's projection workers: they join it; /metrics of serve and the relay report its lag.
    worker_app_id: str | None = Field(
        None, description="Faust app id = consumer group; default thidua-<node>-projections."
    )
    # The node's key (docs/audit.md): every process that appends seals its batches with it.
    audit_signing_key_file: Path | None = Field(
        None,
        description="PEM Ed25519 private key that seals appends and signs checkpoints and cosignatures; default "
        "<data_dir>/audit/node-ed25519.pem (generated on first use).",
    )
    audit_signer: str | None = Field(
        None,
        description="module:callable returning a services.kernel.signing.Signer (an HSM or KMS adapter) instead of the "
        "key file; called with the settings.",
    )
    audit_trusted_keys_dir: Path | None = Field(
        None, description="Folder of PEM public keys (<node>[.<anything>].pem) trusted as anchors (pinned peers)."
    )

    @property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to the embedded SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'thidua.db').resolve()}"

    def require_kafka(self, needed_by: str) -> str:
        """The bootstrap servers, or an operator error naming THIDUA_KAFKA_BOOTSTRAP_SERVERS (``needed_by``: what
        needs a broker, e.g. ``thidua relay``)."""
        if not self.kafka_bootstrap_servers:
            raise InvalidSetting(
                f"THIDUA_KAFKA_BOOTSTRAP_SERVERS chưa được đặt: {needed_by} cần Kafka, ví dụ "
                "THIDUA_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 (make services-up in ra giá trị).",
                f"THIDUA_KAFKA_BOOTSTRAP_SERVERS is not set: {needed_by} needs Kafka, e.g. "
                "THIDUA_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 (make services-up prints it).",
                setting="THIDUA_KAFKA_BOOTSTRAP_SERVERS",
            )
        return self.kafka_bootstrap_servers

    @property
    def effective_catchup_batch_size(self) -> int:
        """Events per projection transaction while behind: the setting, else 20,000 on PostgreSQL and 2,000 on
        SQLite (docs/benchmarks.md, "4. Rebuild": at national spread 20,000 rebuild 1.5x faster than 2,000)."""
        if self.projection_catchup_batch_size is not None:
            return self.projection_catchup_batch_size
        return 20_000 if self.effective_database_url.startswith("postgresql") else 2_000

    @property
    def children(self) -> list[str]:
        """The child node ids."""
        return [c.strip() for c in self.child_nodes.split(",") if c.strip()]

    @property
    def effective_worker_app_id(self) -> str:
        """The Faust app id (and consumer group) of this node's projection workers."""
        return self.worker_app_id or f"thidua-{self.node_id}-projections"

    @property
    def effective_audit_key_file(self) -> Path:
        """Where the node's signing key lives."""
        return self.audit_signing_key_file or self.data_dir / "audit" / "node-ed25519.pem"


class TopicSettings(NodeSettings):
    """The node's Kafka topics (names in ``services.pipeline.topics``) as ``thidua topics`` and sync create them."""

    kafka_topic_partitions: int = Field(3, description="Partitions of each event topic (key = stream id).")
    kafka_replication_factor: int = Field(1, description="Replication factor of every topic (3 in production).")
    kafka_min_insync_replicas: int | None = Field(
        None, description="min.insync.replicas of the topics (2 in production)."
    )
    kafka_dead_letter_retention_ms: int = Field(
        30 * 24 * 3600 * 1000, description="Retention of the dead-letter topic; event topics keep history forever."
    )


class AuditSettings(NodeSettings):
    """Signed checkpoints, witnesses and exports for auditors (docs/audit.md): ``thidua audit``, and the processes
    that checkpoint (``serve``) or ask for cosignatures (``sync``)."""

    audit_checkpoint_every: int = Field(1000, description="Events between two automatic checkpoints (0: off).")
    audit_checkpoint_seconds: float = Field(
        10.0,
        description="Seconds after which new events get an automatic checkpoint anyway (0: off): the longest a tail "
        "stays unwitnessed, plus the sync round trip.",
    )
    audit_checkpoint_minutes: float | None = Field(
        None, description="Deprecated: the same trigger in minutes; when set it overrides audit_checkpoint_seconds."
    )
    audit_witnesses: str | None = Field(
        None,
        description="Comma-separated nodes asked to countersign this node's checkpoints (peers over sync); default the "
        "parent (central for a province; none for central).",
    )
    audit_witness_resend_seconds: float = Field(
        10.0, description="How long the sync sender waits for a cosignature before asking again."
    )
    audit_export_dir: Path | None = Field(None, description="Folder of audit exports; default <data_dir>/exports.")

    @property
    def effective_checkpoint_seconds(self) -> float:
        """The time trigger of automatic checkpoints, in seconds."""
        if self.audit_checkpoint_minutes is not None:
            return self.audit_checkpoint_minutes * 60
        return self.audit_checkpoint_seconds

    @property
    def witnesses(self) -> list[str]:
        """Nodes asked to countersign this node's checkpoints."""
        if self.audit_witnesses is not None:
            return [w.strip() for w in self.audit_witnesses.split(",") if w.strip()]
        return [self.parent_node] if self.parent_node else []


class ApiSettings(AuditSettings):
    """``thidua serve``: the LGSP integration API (docs/api.md: tokens, rate limits, idempotency, request size,
    webhooks, as-of reads) and the officials' web app at / (docs/ui.md)."""

    api_signing_key_file: Path | None = Field(
        None, description="PEM private key that signs this node's tokens (RSA: RS256, Ed25519: EdDSA)."
    )
    api_dev_signing_key: bool = Field(
        True, description="Without api_signing_key_file, sign with a dev Ed25519 key generated in <data_dir>."
    )
    api_token_issuer: str | None = Field(None, description="iss of the tokens this node signs; default thidua:<node>.")
    api_token_audience: str = Field("thidua-sync", description="aud every accepted token must carry.")
    api_token_ttl_seconds: int = Field(900, description="Lifetime of an access token from POST /api/v1/token.")
    api_trusted_jwks_url: str | None = Field(
        None, description="JWKS URL of an external issuer (the province's identity provider) whose tokens count too."
    )
    api_trusted_issuer: str | None = Field(None, description="iss of the external issuer's tokens.")
    api_rate_limit_per_minute: int = Field(600, description="Requests per minute per client (token bucket refill).")
    api_rate_limit_burst: int = Field(60, description="Requests a client may send at once (token bucket size).")
    api_idempotency_ttl_hours: float = Field(24.0, description="How long an Idempotency-Key and its response live.")
    api_max_body_bytes: int = Field(1_048_576, description="Largest request body; larger ones get 413.")
    api_keepalive_seconds: int = Field(
        75,
        description="How long thidua serve keeps an idle HTTP connection open; longer than the callers' pools keep "
        "theirs (httpx 5 s, a gateway's 60 s), so a caller never sends on a connection the node is closing.",
    )
    webhooks_enabled: bool = Field(True, description="thidua serve delivers webhooks (reactor in the API process).")
    webhook_poll_seconds: float = Field(1.0, description="Idle poll of the webhook reactor.")
    webhook_timeout_seconds: float = Field(10.0, description="Timeout of one webhook delivery attempt.")
    webhook_max_attempts: int = Field(10, description="Attempts before a delivery is given up (and recorded FAILED).")
    webhook_backoff_base_seconds: float = Field(10.0, description="Delay after the first failure; doubles each time.")
    webhook_backoff_max_seconds: float = Field(3600.0, description="Longest delay between two attempts.")
    webhook_concurrency: int = Field(4, description="Deliveries sent in parallel.")
    webhook_require_https: bool = Field(False, description="Refuse subscriptions whose URL is not https.")
    asof_cache_size: int = Field(
        4, ge=1, description="Rebuilds kept for as_of reads (least recently used dropped, with their asof_ tables)."
    )

    web_enabled: bool = Field(True, description="thidua serve also serves the officials' web app at /.")
    web_session_idle_minutes: float = Field(30.0, gt=0, description="A session unused this long ends (sign in again).")
    web_session_absolute_hours: float = Field(12.0, gt=0, description="A session ends this long after sign-in anyway.")
    web_cookie_secure: bool | None = Field(
        None,
        description="Mark cookies Secure: true, false, or unset for 'when the request came over https' (behind a TLS "
        "proxy, uvicorn trusts X-Forwarded-Proto from --forwarded-allow-ips).",
    )
    web_signin_backoff_after: int = Field(3, ge=1, description="Failed sign-ins in a row before each try must wait.")
    web_signin_backoff_seconds: float = Field(
        2.0, ge=0, description="Wait after the first back-off failure; doubles with each further failure."
    )
    web_signin_lock_after: int = Field(5, ge=1, description="Failed sign-ins in a row that lock the account.")
    web_signin_lock_minutes: float = Field(
        30.0, gt=0, description="How long a locked account stays locked (thidua users unlock ends it at once)."
    )
    web_signin_per_minute: int = Field(
        30, ge=1, description="Sign-in attempts per minute from one address (token bucket, burst 10)."
    )
    web_live_poll_seconds: float = Field(
        1.0, gt=0, description="How often an open page's live feed looks for new events of its subtree."
    )


class RelaySettings(AuditSettings):
    """``thidua relay``: the outbox relay to Kafka (docs/pipeline.md), which also signs the automatic checkpoints."""

    relay_batch_size: int = Field(1000, description="Events the relay reads and publishes per acknowledged batch.")
    relay_poll_seconds: float = Field(0.2, description="Idle poll interval of the relay.")
    relay_delivery_timeout_ms: int = Field(120_000, description="How long a batch may wait for the broker's ack.")
    relay_metrics_port: int = Field(9101, description="Port of the relay's /metrics (0: off).")


class WorkerSettings(NodeSettings):
    """``thidua worker``: the Faust projection workers (docs/pipeline.md)."""

    worker_projections: str | None = Field(
        None,
        description="Comma-separated read models this worker group applies (default: all); one app id per group.",
    )
    worker_batch_size: int = Field(500, description="Messages per projection transaction of a worker.")
    worker_batch_seconds: float = Field(
        0.1,
        description="Longest wait to fill a worker batch (light load: the added latency; a full batch never waits).",
    )
    worker_session_timeout_seconds: float = Field(30.0, description="Consumer-group session timeout of a worker.")
    worker_heartbeat_seconds: float = Field(3.0, description="Consumer-group heartbeat interval of a worker.")
    worker_commit_seconds: float = Field(1.0, description="How often a worker commits acknowledged offsets to Kafka.")
    worker_web_port: int = Field(6066, description="Port of the worker's web server (/metrics).")
    worker_web_enabled: bool = Field(True, description="Serve the worker's /metrics.")


class SyncSettings(TopicSettings, AuditSettings):
    """``thidua sync``: sync between levels (docs/sync.md): the routing rules, receipts, the sync loop."""

    sync_rules_file: Path | None = Field(
        None, description="YAML routing rules; default: services/sync/rules.yaml (what goes up, what goes down)."
    )
    sync_receipt_period: str = Field("month", description="Period of a receipt: month (YYYY-MM) or day (YYYY-MM-DD).")
    sync_batch_size: int = Field(500, description="Events the sync sender reads per batch; records per import poll.")
    sync_poll_seconds: float = Field(
        0.2,
        description="The sync importer's Kafka poll (and the idle sender's on SQLite; on PostgreSQL appends wake it).",
    )
    sync_linger_seconds: float = Field(
        0.05,
        ge=0,
        description="The sync sender sends a batch, and the importer imports one, at most this often: the first "
        "after a pause goes at once; under load a batch gathers what came meanwhile (fewer, larger batches here and "
        "in the receiving node's read models) for at most this much added latency; 0 sends each append at once.",
    )
    sync_status_stale_seconds: float = Field(
        60.0, description="A sender whose last SyncStatus is older than this is reported SILENT by reconcile."
    )


class Settings(ApiSettings, RelaySettings, WorkerSettings, SyncSettings):
    """Every setting of every process: for what spans processes (the benchmarks, ``thidua pipeline status``,
    tests) and the docs' settings tables."""
