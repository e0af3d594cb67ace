"""Rooms that say what they hold: no module of the app or the CLI over 300 lines, no class
over 200. A module that grows past this has taken a second job; split it by concern."""

from __future__ import annotations

import ast
from pathlib import Path

from emulators.processes import PROJECT_DIR

MAX_MODULE_LINES = 300
MAX_CLASS_LINES = 200
MODULES = sorted([PROJECT_DIR / "app.py", *(PROJECT_DIR / "chalicelib").rglob("*.py"),
                  *(PROJECT_DIR / "facetag_cli").rglob("*.py")])


def name(path: Path) -> str:
    return path.relative_to(PROJECT_DIR).as_posix()


def test_every_module_stays_small() -> None:
    sizes = {name(p): len(p.read_text(encoding="utf-8").splitlines()) for p in MODULES}
    assert len(sizes) > 40  # the layout was found
    assert {m: n for m, n in sizes.items() if n > MAX_MODULE_LINES} == {}


def test_every_class_stays_small() -> None:
    spans = {}
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.end_lineno is not None:
                spans[f"{name(path)}:{node.name}"] = node.end_lineno - node.lineno + 1
    assert "chalicelib/tagging.py:Tagger" in spans
    assert {c: n for c, n in spans.items() if n > MAX_CLASS_LINES} == {}
