"""Passwords: argon2id hashes (memory-hard, RFC 9106), a plain length policy, one-time temporary passwords."""

from __future__ import annotations

import secrets
import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
MAX_LENGTH = 256
_HASHER = PasswordHasher()  # argon2id, RFC 9106 "low memory" profile: t=3, m=64 MiB, p=4
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud or copied from paper without mistakes
_DUMMY = _HASHER.hash("không phải mật khẩu")  # verified against for unknown users: no timing oracle on usernames


def normalize(password: str) -> str:
    """NFC, so a password typed with composed or decomposed diacritics is the same password."""
    return unicodedata.normalize("NFC", password)


def hash_password(password: str) -> str:
    """The argon2id PHC string of ``password``."""
    return _HASHER.hash(normalize(password))


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored`` (a missing hash is checked against a dummy, and fails)."""
    try:
        return _HASHER.verify(stored or _DUMMY, normalize(password)) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether ``stored`` was hashed with weaker parameters than today's."""
    return _HASHER.check_needs_rehash(stored)


def policy_problem(password: str, username: str) -> tuple[str, str] | None:
    """Why ``password`` is refused (Vietnamese, English), or None: long enough, not the username (NIST 800-63B:
    length, no composition rules)."""
    password = normalize(password)
    if len(password) < MIN_LENGTH:
        return (
            f"Mật khẩu phải có ít nhất {MIN_LENGTH} ký tự.",
            f"The password needs at least {MIN_LENGTH} characters.",
        )
    if len(password) > MAX_LENGTH:
        return (f"Mật khẩu dài quá {MAX_LENGTH} ký tự.", f"The password is longer than {MAX_LENGTH} characters.")
    if password.strip().lower() == username.lower():
        return ("Mật khẩu không được trùng tên đăng nhập.", "The password cannot be the username.")
    return None


def temporary_password() -> str:
    """A one-time password such as ``k7mq-x2pa-9fhe-tw3c`` (80 bits), to be changed at the first sign-in."""
    groups = ("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(4))
    return "-".join(groups)
