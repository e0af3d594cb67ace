"""The README documents every setting, with its default; docs/design.md lists every module."""

from __future__ import annotations

import ast
from dataclasses import fields
from pathlib import Path

from chalicelib.settings import ENV_NAMES, Settings
from emulators.processes import PROJECT_DIR

README = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
DESIGN = (PROJECT_DIR / "docs" / "design.md").read_text(encoding="utf-8")
# What the module table covers: the app, the Lambda package and the operator's CLI package.
APP = "app.py"
PACKAGES = ("chalicelib", "facetag_cli")


def cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def settings_rows() -> dict[str, str]:
    rows = {}
    for line in README.splitlines():
        row = cells(line)
        if len(row) >= 3 and row[0].startswith("`FACETAG_"):
            rows[row[0].strip("`")] = row[1]
    return rows


def test_every_setting_has_a_row_in_the_settings_table() -> None:
    assert set(ENV_NAMES.values()) <= set(settings_rows())


def test_each_documented_default_is_the_real_default() -> None:
    rows = settings_rows()
    defaults = Settings()
    for f in fields(Settings):
        value = getattr(defaults, f.name)
        documented = rows[ENV_NAMES[f.name]].strip("`")
        if value in (None, ()):
            assert documented.startswith("(")
        elif isinstance(value, bool):
            assert documented == str(value).lower()
        elif isinstance(value, float):
            assert float(documented) == value
        else:
            assert documented == str(value)


def module_table() -> set[str]:
    """The backticked paths in the first column of design.md's table headed `Module`."""
    lines = iter(DESIGN.splitlines())
    for line in lines:
        if line.startswith("|") and cells(line)[0] == "Module":
            break
    else:
        raise AssertionError("docs/design.md has no table whose first column is `Module`")
    next(lines)  # the |---| line under the header
    paths = set()
    for line in lines:
        if not line.startswith("|"):
            break
        first = cells(line)[0]
        if first.startswith("`") and first.endswith("`"):
            paths.add(first.strip("`"))
    return paths


def holds_code(path: Path) -> bool:
    """Whether a module has more than a docstring (an empty `__init__.py` only marks a package)."""
    body = ast.parse(path.read_text(encoding="utf-8")).body
    return any(not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
               for node in body)


def modules() -> set[str]:
    found = {APP}
    for package in PACKAGES:
        for path in (PROJECT_DIR / package).rglob("*.py"):
            if path.name != "__init__.py" or holds_code(path):
                found.add(path.relative_to(PROJECT_DIR).as_posix())
    return found


def test_every_module_has_a_row_in_the_design_module_table() -> None:
    missing = sorted(modules() - module_table())
    assert not missing, f"modules without a row in docs/design.md's module table: {missing}"


def test_every_row_of_the_design_module_table_is_an_existing_module() -> None:
    stale = sorted(module_table() - modules())
    assert not stale, f"rows of docs/design.md's module table naming no module: {stale}"
