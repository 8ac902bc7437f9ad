"""The sdist and wheel that `python -m build` makes are complete and install cleanly."""

import subprocess
import sys
import sysconfig
import tarfile
import venv
import zipfile
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_the_built_wheel_installs_into_an_empty_venv_and_reports_its_version(
    tmp_path: Path,
) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    names = zipfile.ZipFile(wheel).namelist()
    metadata = zipfile.ZipFile(wheel).read(
        f"journeyboard-{version('journeyboard')}.dist-info/METADATA"
    )
    assert "schemas/json/ws-server-op.json" in names
    assert any(name.endswith("licenses/LICENSE") for name in names)
    assert b"License-Expression: MIT" in metadata
    assert any(name.endswith("/requirements.lock") for name in tarfile.open(sdist).getnames())

    empty = tmp_path / "venv"
    venv.create(empty, with_pip=True)
    install = [str(empty / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps"]
    result = subprocess.run([*install, str(wheel)], capture_output=True, text=True)
    assert result.returncode == 0 and "deprecat" not in result.stderr.lower(), result.stderr
    # The wheel's own code, with this venv's dependencies beside it (a site folder is not
    # on PYTHONPATH's terms, so this checkout's editable .pth is not read).
    env = {"PYTHONPATH": sysconfig.get_paths()["purelib"]}
    shown = subprocess.run(
        [str(empty / "bin" / "journeyboard"), "--version"],
        capture_output=True, text=True, cwd=tmp_path, env=env, check=True,
    )  # fmt: skip
    assert shown.stdout.strip() == f"journeyboard {version('journeyboard')}"
    where = subprocess.run(
        [str(empty / "bin" / "python"), "-c", "import server; print(server.__file__)"],
        capture_output=True, text=True, cwd=tmp_path, env=env, check=True,
    )  # fmt: skip
    assert where.stdout.startswith(str(empty)), where.stdout
