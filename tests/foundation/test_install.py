"""Installing and running outside a checkout: the wheel carries everything
`crisisroute db upgrade` needs; the Dockerfile installs the locked versions,
keeps the code read-only for the app user and the SQLite file on a volume."""

from __future__ import annotations

import re
import subprocess
import sys
import sysconfig
import tomllib
import venv
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]


def _dockerfile() -> list[str]:
    """Instructions, continuation lines joined."""
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_dockerfile_installs_the_lock_then_the_package_plainly():
    runs = [line for line in _dockerfile() if line.startswith("RUN ")]
    installs = [run for run in runs if "pip install" in run]
    assert any("--require-hashes" in run and "-r requirements.lock" in run for run in installs)
    assert any(re.search(r"pip install (--no-deps )?\.(\s|&&|$)", run) for run in installs), (
        installs
    )
    assert not any(" -e " in run or "--editable" in run for run in installs)


def test_dockerfile_code_is_not_the_app_users_and_data_is_on_a_volume():
    lines = _dockerfile()
    user = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert user and user[-1] not in ("root", "0")
    # Nothing the package is installed from or into is handed to the app user.
    chowns = [line for line in lines if "chown" in line]
    assert all(re.search(r"chown \S+ /data(\s|$)", line) for line in chowns), chowns
    env = " ".join(line for line in lines if line.startswith("ENV "))
    database = re.search(r"DATABASE_URL=sqlite:////(\S+)/[^/\s]+\.db", env)
    assert database, env
    volumes = " ".join(line for line in lines if line.startswith("VOLUME "))
    assert f'"/{database.group(1)}"' in volumes or f" /{database.group(1)}" in volumes, volumes
    health = [line for line in lines if line.startswith("HEALTHCHECK ")]
    assert health and "/readyz" in health[0]


def test_dockerignore_keeps_secrets_databases_and_environments_out():
    ignored = (REPO / ".dockerignore").read_text().split()
    for pattern in (".venv", "**/node_modules", ".git", ".env", "*.db", "*.db-*"):
        assert pattern in ignored, pattern


def test_lock_pins_every_dependency_with_hashes_above_the_advisory_floors():
    lock = (REPO / "requirements.lock").read_text()
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", lock, re.MULTILINE))
    pins = {name.lower().replace("_", "-"): version for name, version in pins.items()}
    blocks = re.split(r"\n(?=[A-Za-z0-9_.-]+==)", lock.split("\n", 2)[-1])
    assert all("--hash=sha256:" in block for block in blocks if "==" in block)
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    for spec in project["dependencies"]:
        requirement = Requirement(spec)
        name = requirement.name.lower()
        assert name in pins, f"{name} is not in requirements.lock: regenerate it"
        assert requirement.specifier.contains(pins[name]), (name, pins[name])
    floors = {"python-multipart": "0.0.18", "starlette": "0.40", "h11": "0.16"}
    for name, floor in floors.items():
        assert Version(pins[name]) >= Version(floor), (name, pins[name])


@pytest.mark.slow
def test_a_built_wheel_installed_elsewhere_upgrades_an_empty_database(tmp_path):
    """Not editable, not from the checkout: the wheel in a fresh venv whose
    only other packages are this venv's dependencies (a path entry, so this
    checkout's editable install is not seen there)."""
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "-w",
            str(wheels),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("crisisroute-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # Appended after the venv's own site-packages: the wheel's app wins.
    Path(site, "our-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{workdir}/fresh.db"}
    where = subprocess.run(
        [str(python), "-c", "import app; print(app.__file__)"],
        cwd=workdir,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert where.startswith(site), where
    upgrade = subprocess.run(
        [str(env_dir / "bin" / "crisisroute"), "db", "upgrade"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
    assert "(head)" in upgrade.stdout

    from app import migrations
    from app.db import make_engine

    engine = make_engine(f"sqlite:///{workdir}/fresh.db")
    try:
        assert migrations.is_at_head(engine)
    finally:
        engine.dispose()
