"""The import contracts cover every private module, including the ones added later."""

from __future__ import annotations

import pkgutil
import tomllib
from pathlib import Path

import max_tools
import max_tools.agent
import max_tools.hosting

PYPROJECT = Path(__file__).parents[1] / "pyproject.toml"


def private_modules() -> set[str]:
    found = set()
    for package in (max_tools, max_tools.agent, max_tools.hosting):
        for module in pkgutil.iter_modules(package.__path__, prefix=f"{package.__name__}."):
            if module.name.rsplit(".", 1)[1].startswith("_"):
                found.add(module.name)
    return found


def contract(name_starts: str) -> dict[str, list[str]]:
    contracts: list[dict[str, list[str]]]
    contracts = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]["contracts"]
    [found] = [c for c in contracts if str(c["name"]).startswith(name_starts)]
    return found


def test_the_faces_may_import_no_private_module() -> None:
    forbidden = set(contract("The faces import only public names")["forbidden_modules"])

    assert private_modules() - forbidden == set()


def test_no_core_module_may_import_an_adapter() -> None:
    sources = set(contract("The core imports neither adapter")["source_modules"])
    core = {
        name
        for name in private_modules()
        if not name.startswith(("max_tools.agent.", "max_tools.hosting."))
    }

    assert core - sources == set() and "max_tools.agent" in sources


def test_the_client_core_may_not_import_hosting() -> None:
    assert "max_tools.hosting" in contract("The core imports neither adapter")["forbidden_modules"]


def test_hosting_may_import_no_private_module_of_the_core() -> None:
    forbidden = set(
        contract("Hosting builds on public names of the core only")["forbidden_modules"]
    )
    core = {name for name in private_modules() if not name.startswith("max_tools.hosting.")}

    assert core - forbidden == set()
