"""``examples/connector-todo``, a connector package outside the platform's source: installed from a
copy outside the tree and tested with its own tests, which use the kit alone."""
import json
import shutil

from tests.test_kit import ROOT, run_kit_tests
from tests.test_scaffold import connectors, install

EXAMPLE = ROOT / "examples" / "connector-todo"


def test_the_todo_example_installs_and_passes_its_tests(tmp_path):
    package = tmp_path / "connector-todo"
    shutil.copytree(EXAMPLE, package, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    site = tmp_path / "site"
    install(package, site)
    listed = connectors("plugins", "--json", "--strict", cwd=tmp_path, pythonpath=(site, package))
    assert listed.returncode == 0, listed.stdout + listed.stderr
    plugin = next(p for p in json.loads(listed.stdout) if p["name"] == "todo")
    assert (plugin["status"], plugin["connectors"], plugin["version"]) == ("ok", ["todo"], "0.1.0")
    tested = run_kit_tests(package, site, package)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "4 passed" in tested.stdout
