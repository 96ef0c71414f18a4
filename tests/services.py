"""Where tests get real services: the environment, else testcontainers (Docker), else skip.

With ``THIDUA_REQUIRE_SERVICES=1`` (CI) a missing service fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

REQUIRE = os.environ.get("THIDUA_REQUIRE_SERVICES") == "1"


def unavailable(what: str) -> None:
    """Skip, or fail when services are required."""
    message = f"{what} is not available (set THIDUA_DATABASE_URL / THIDUA_KAFKA_BOOTSTRAP_SERVERS, "
    message += "or run the tests through `make test`, which starts local services)"
    if REQUIRE:
        pytest.fail(f"THIDUA_REQUIRE_SERVICES=1 and {message}", pytrace=False)
    pytest.skip(message)


def docker_answers() -> bool:
    """Whether a Docker engine answers (testcontainers can then start services)."""
    if not shutil.which("docker"):
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def missing(what: str, hint: str) -> None:
    """Skip because ``what`` is not installed, or fail when services are required (CI installs it)."""
    message = f"{what} is not available ({hint})"
    if REQUIRE:
        pytest.fail(f"THIDUA_REQUIRE_SERVICES=1 and {message}", pytrace=False)
    pytest.skip(message)
