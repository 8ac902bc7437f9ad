"""The deployment files, checked without a container daemon (none runs here).

What is checked: the Dockerfile's stages and promises, the compose file's shape, that every
variable they set is a real setting, the replica-set script's syntax, and that the image's
entrypoint commands work outside a container. `docker build` and `docker compose up` are not run.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from server.settings import ENVIRONMENT
from tests.processes import Served

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = set(ENVIRONMENT.values())
NOT_SETTINGS = {"PATH", "PYTHONUNBUFFERED", "PIP_DISABLE_PIP_VERSION_CHECK", "PIP_NO_CACHE_DIR"}


def instructions(stage: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of one Dockerfile stage, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]
    stages: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for line in lines:
        word, _, rest = line.partition(" ")
        if word == "FROM":
            current = stages.setdefault(rest.split(" AS ")[-1], [])
        current.append((word, rest))
    return stages[stage]


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def test_image_is_multi_stage_slim_hashed_non_root_with_healthcheck_and_sigterm() -> None:
    build, runtime = instructions("build"), instructions("runtime")
    assert all("slim" in rest for word, rest in build + runtime if word == "FROM")
    runs = " ".join(rest for word, rest in build if word == "RUN")
    assert "--require-hashes --no-deps -r requirements.lock" in runs
    assert re.search(r"pip install --no-deps --no-build-isolation \.", runs)
    every_stage = " ".join(rest for word, rest in instructions("test") + build if word == "RUN")
    for install in re.findall(r"pip install ([^&]*)", every_stage):
        assert "--require-hashes" in install or "--no-deps --no-build-isolation" in install, (
            f"an install that is not pinned by the lock: {install}"
        )
    final = dict(runtime)
    assert final["USER"] not in ("root", "0")
    assert "journeyboard" in final["HEALTHCHECK"] and "healthcheck" in final["HEALTHCHECK"]
    assert final["STOPSIGNAL"] == "SIGTERM"
    assert '"/data"' in final["VOLUME"]
    assert final["ENTRYPOINT"] == '["journeyboard"]' and final["CMD"] == '["serve"]'
    assert ("COPY", "--from=build /venv /venv") in runtime, "no compilers or sources shipped"


def test_every_variable_the_image_and_compose_set_is_a_documented_setting() -> None:
    env = " ".join(rest for word, rest in instructions("runtime") if word == "ENV")
    image_vars = set(re.findall(r"([A-Z_]+)=", env)) - NOT_SETTINGS
    services = compose()["services"]
    compose_vars = {name for s in services.values() for name in s.get("environment", {})}
    readme = (ROOT / "README.md").read_text()
    assert image_vars | compose_vars <= SETTINGS
    assert all(f"`{name}`" in readme for name in SETTINGS), "README's table lists every setting"


def test_compose_runs_two_instances_on_a_three_member_replica_set_behind_a_proxy() -> None:
    services = compose()["services"]
    mongos = [s for s in services.values() if "--replSet" in s.get("command", [])]
    assert len(mongos) == 3
    init = services["mongo-init"]
    assert "/rs-init.js" in init["command"]
    assert all(dep["condition"] == "service_healthy" for dep in init["depends_on"].values())
    for name in ("app1", "app2"):
        app = services[name]
        uri = app["environment"]["MONGODB_URI"]
        assert "replicaSet=rs0" in uri and "w=majority" in uri
        assert all(f"mongo{i}:27017" in uri for i in (1, 2, 3))
        assert app["depends_on"]["mongo-init"]["condition"] == "service_completed_successfully"
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    assert "app1:8000 app2:8000" in caddyfile and "health_uri /readyz" in caddyfile
    assert services["tests"]["profiles"] == ["test"]
    assert "replicaSet=rs0" in services["tests"]["environment"]["MONGODB_URI"]


@pytest.mark.skipif(
    shutil.which("node") is None,
    reason="needs node to syntax-check deploy/rs-init.js: apt-get install -y nodejs",
)
def test_replica_set_init_script_is_valid_javascript() -> None:
    checked = subprocess.run(["node", "--check", str(ROOT / "deploy" / "rs-init.js")])
    assert checked.returncode == 0


def test_the_image_healthcheck_command_says_ready_or_not(tmp_path: Path) -> None:
    def healthcheck(port: str) -> int:
        command = [sys.executable, "-m", "journeyboard", "healthcheck"]
        return subprocess.run(command, env={"PORT": port}, capture_output=True).returncode

    server = Served(tmp_path)
    try:
        server.wait_ready()
        assert healthcheck(server.url.rsplit(":", 1)[1]) == 0
    finally:
        server.kill()
    assert healthcheck(server.url.rsplit(":", 1)[1]) == 1
