"""The authors' kit (core/testing.py), used as a third-party author uses it.

``tests/kit_author/`` is a plugin and its tests written with the kit's fixtures only: an OAuth
connector against the kit's loopback authorization server and a config connector. They run in a
pytest of their own, outside this suite's conftest, with the kit as the only pytest plugin.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AUTHOR = Path(__file__).resolve().parent / "kit_author"


def run_kit_tests(directory: Path, *pythonpath: Path) -> subprocess.CompletedProcess:
    """``pytest`` in ``directory`` with the kit loaded as the ``pytest11`` entry point would load it."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "PYTEST_ADDOPTS")}
    env.update(PYTHONPATH=os.pathsep.join(map(str, (ROOT, *pythonpath))), PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "core.testing", "-p", "no:cacheprovider", "-q",
                           "-p", "no:randomly", "--rootdir", str(directory), str(directory)],
                          cwd=directory, env=env, capture_output=True, text=True, timeout=600)


def test_an_author_tests_oauth_and_config_connectors_with_the_kit_alone(tmp_path):
    for source in AUTHOR.glob("*.py"):
        shutil.copy(source, tmp_path / source.name)
    done = run_kit_tests(tmp_path, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "6 passed" in done.stdout


def test_the_kit_is_a_pytest11_entry_point():
    text = (ROOT / "pyproject.toml").read_text()
    assert '[project.entry-points.pytest11]\n' in text
    assert 'connectors = "core.testing"' in text.split("[project.entry-points.pytest11]")[1].split("[")[0]
