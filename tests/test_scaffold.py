"""``connectors new-plugin NAME --kind oauth2|config``: the package it writes registers its entry point
and passes its own test, written with the kit, as generated.

"Installing" here is what an editable install leaves on ``sys.path``: the package's source and a
``.dist-info`` carrying the entry points of its ``pyproject.toml`` (no network, no build).
"""
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.test_kit import ROOT, run_kit_tests

CONNECTORS = str(Path(sys.executable).with_name("connectors"))


def connectors(*args, cwd: Path, pythonpath: tuple[Path, ...] = ()) -> subprocess.CompletedProcess:
    """The ``connectors`` command of this source tree."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOOGLE_", "DATABASE_URL", "REDIS_URL"))}
    env.update(PYTHONPATH=os.pathsep.join(map(str, (ROOT, *pythonpath))),
               CONNECTORS_INSTANCE_PATH=str(cwd / "instance"))
    return subprocess.run([CONNECTORS, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def install(package: Path, site: Path) -> None:
    """Put ``package``'s metadata and entry points in ``site``, as ``pip install -e`` does."""
    project = tomllib.loads((package / "pyproject.toml").read_text())["project"]
    info = site / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n")
    (info / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in points.items())
        for group, points in project["entry-points"].items()))


@pytest.mark.parametrize("kind, key, passed", [("oauth2", "acme_tasks", 2), ("config", "acme_notes", 1)])
def test_the_generated_package_installs_and_passes_its_test(tmp_path, kind, key, passed):
    made = connectors("new-plugin", key, "--kind", kind, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    package = tmp_path / ("connector-" + key.replace("_", "-"))
    assert f"Created {package.name}/" in made.stdout
    project = tomllib.loads((package / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["connectors.plugins"] == {key: f"connector_{key}"}
    assert (package / f"connector_{key}" / "__init__.py").exists() and (package / "tests" / "test_connector.py").exists()

    site = tmp_path / "site"
    install(package, site)
    listed = connectors("plugins", "--json", "--strict", cwd=tmp_path, pythonpath=(site, package))
    assert listed.returncode == 0, listed.stdout + listed.stderr
    plugin = next(p for p in json.loads(listed.stdout) if p["name"] == key)
    assert (plugin["status"], plugin["connectors"], plugin["version"]) == ("ok", [key], "0.1.0")

    tested = run_kit_tests(package, site, package)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert f"{passed} passed" in tested.stdout


def test_new_plugin_refuses_a_bad_name_and_an_existing_directory(tmp_path):
    bad = connectors("new-plugin", "Acme-Tasks", "--kind", "config", cwd=tmp_path)
    assert bad.returncode != 0 and "not a connector key" in bad.stderr
    assert connectors("new-plugin", "acme", "--kind", "config", cwd=tmp_path).returncode == 0
    again = connectors("new-plugin", "acme", "--kind", "oauth2", cwd=tmp_path)
    assert again.returncode != 0 and "already exists" in again.stderr
    assert connectors("new-plugin", "acme", "--kind", "smtp", cwd=tmp_path).returncode != 0
