"""Schemathesis against /openapi.json of a real server, with a valid token.

`make test` runs a fixed budget of 15 examples per operation; `make fuzz` (FUZZ_EXAMPLES,
300 by default) is the long run worth doing before a release.

Every check runs except `positive_data_acceptance`: a schema-valid body may still be
refused on purpose (an edge to a node that does not exist is 422 by design, and msgspec
refuses 2.0 where the schema says integer).
"""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import TOKEN, fresh_database
from tests.processes import Served

UNLIMITED = {
    "JOURNEYBOARD_RATE_PER_IP": "1000000",
    "JOURNEYBOARD_RATE_PER_TOKEN": "1000000",
    "JOURNEYBOARD_AUTH_FAILURES_PER_MINUTE": "1000000",
}


@pytest.fixture
def served(tmp_path: Path, mongodb_uri: str) -> Iterator[tuple[Served, str]]:
    server = Served(
        tmp_path, MONGODB_URI=mongodb_uri, JOURNEYBOARD_DB=fresh_database(), **UNLIMITED
    )
    try:
        token = TOKEN.search(server.welcome())
        assert token, "the first start prints an admin token"
        server.wait_ready()
        yield server, token.group(0)
    finally:
        server.kill()


@pytest.mark.long
@pytest.mark.timeout(3600)
def test_fuzzing_the_api_finds_no_server_error_and_no_spec_mismatch(
    served: tuple[Served, str],
) -> None:
    server, token = served
    command = str(Path(sys.executable).parent / "schemathesis")
    result = subprocess.run(
        [
            command, "run", f"{server.url}/openapi.json",
            "--header", f"Authorization: Bearer {token}",
            "--checks", "all",
            "--exclude-checks", "positive_data_acceptance",
            "--exclude-operation-id", "revoke_token",  # would revoke the fuzzer's own token
            "--max-examples", os.environ.get("FUZZ_EXAMPLES", "15"),
            "--seed", "20261123",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=3000,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-6000:].replace(token, "<token>")
