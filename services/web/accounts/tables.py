"""The web app's operations tables: users, sessions, sign-in attempts (the sign-in log), saved drafts of forms.
Created and changed by the migrations (``services.migrations``, revisions 0003 and 0006): ``thidua db upgrade``."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, DateTime, Index, Integer, String, Table, Text

from services.kernel.db import new_metadata

metadata = new_metadata()

Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite: INTEGER PRIMARY KEY is the rowid

web_user = Table(
    "web_user",
    metadata,
    Column("username", String(64), primary_key=True, comment="Sign-in name: lower-case ASCII letters, digits . _ -"),
    Column("full_name", Text, nullable=False),
    Column("email", String(254)),
    Column("org_unit_path", String(200), nullable=False, comment="The unit the person acts for (their subtree)."),
    Column("roles", JSON, nullable=False, comment="The same roles as API clients (submitter, reviewer, ...)."),
    Column("password_hash", String(200), comment="argon2id (PHC string); null: no password (single sign-on only)."),
    Column("must_change_password", Boolean, nullable=False, comment="A temporary password: change at next sign-in."),
    Column("external_subject", String(255), unique=True, comment="OIDC issuer|sub linked to this account (SSO)."),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("password_changed_at", DateTime(timezone=True)),
    Column("disabled_at", DateTime(timezone=True), comment="Set: the account cannot sign in; its sessions end."),
    comment="People who sign in to the web app: their org unit and roles (the same as API clients').",
)

web_session = Table(
    "web_session",
    metadata,
    Column("token_hash", String(64), primary_key=True, comment="SHA-256 of the cookie's token (never the token)."),
    Column("username", String(64), nullable=False),
    Column("csrf_token", String(64), nullable=False, comment="The session's anti-forgery token (every form)."),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False, comment="Idle expiry counts from here."),
    Column("expires_at", DateTime(timezone=True), nullable=False, comment="Absolute expiry."),
    Column("ended_at", DateTime(timezone=True)),
    Column("end_reason", String(20), comment="SIGNED_OUT, IDLE, EXPIRED, DISABLED, PASSWORD_CHANGED"),
    Column("client_ip", String(64)),
    Column("user_agent", String(300)),
    Index(None, "username"),
    comment="Browser sessions of the web app (idle and absolute expiry), one per sign-in.",
)

web_signin_attempt = Table(
    "web_signin_attempt",
    metadata,
    Column("attempt_id", Id, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("username", String(100), nullable=False, comment="As typed (lower-cased, NFC), known or not."),
    Column("outcome", String(20), nullable=False, comment="SUCCESS, FAILED, THROTTLED, LOCKED, DISABLED, UNLOCKED"),
    Column("client_ip", String(64)),
    Column("user_agent", String(300)),
    Column("detail", Text),
    Index(None, "username", "attempt_id"),
    Index(None, "at"),
    sqlite_autoincrement=True,
    comment="Every sign-in attempt (the sign-in log): back-off and lock count the failures in a row.",
)

web_draft = Table(
    "web_draft",
    metadata,
    Column("username", String(64), primary_key=True, comment="The person whose draft it is (only they see it)."),
    Column("form", String(40), primary_key=True, comment="Which form: targets (đăng ký thi đua), report."),
    Column("subject", String(300), primary_key=True, comment="What it is about: plan, unit and year or period."),
    Column("fields", JSON, nullable=False, comment="The form's fields as typed (never an event until sent)."),
    Column("saved_at", DateTime(timezone=True), nullable=False),
    comment="Saved drafts of the web app's forms: a person's own, deleted when the form is sent.",
)
