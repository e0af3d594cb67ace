"""The layers hold: only the wrappers know boto3, botocore and the Cloudinary SDK's errors.

Read from the source with `ast`: every module of app.py, chalicelib/ and the operator CLI's
package (any top-level package with a `cli.py`). Above `faces.py` and `library.py`, flows see
facetag's own errors (face_errors.py, library_errors.py) and never a client's internals.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

from emulators.processes import PROJECT_DIR

# The wrappers, their errors and retries, the SSM secret reader, the counting of calls, and the
# operator's Lambda wrapper.
MAY_IMPORT_SDK_INTERNALS = {"chalicelib/faces.py", "chalicelib/face_errors.py",
                            "chalicelib/face_consistency.py",
                            "chalicelib/library.py", "chalicelib/library_errors.py",
                            "chalicelib/queues.py", "chalicelib/credentials.py",
                            "chalicelib/calls.py", "chalicelib/parameters.py",
                            "chalicelib/queue_age.py", "facetag_cli/event_sources.py"}
SDK_INTERNALS = ("boto3", "botocore", "cloudinary.exceptions")
WRAPPERS = {"chalicelib/faces.py", "chalicelib/library.py", "chalicelib/queues.py",
            "facetag_cli/event_sources.py"}
CLIENT_INTERNALS = (".client.exceptions", ".meta.events")


def application_modules(root: Path) -> Iterator[Path]:
    yield root / "app.py"
    packages = {root / "chalicelib"} | {cli.parent for cli in root.glob("*/cli.py")
                                         if (cli.parent / "__init__.py").exists()}
    for package in sorted(packages):
        yield from sorted(package.rglob("*.py"))


def imported(source: str) -> set[str]:
    """Every module a source imports, `from x import y` counting as `x` and as `x.y`."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def violations(sources: Mapping[str, str]) -> list[str]:
    """What breaks the layers, one line each, for sources keyed by their path in the project."""
    found = []
    for path, source in sorted(sources.items()):
        if path not in MAY_IMPORT_SDK_INTERNALS:
            found += [f"{path} imports {name}" for name in sorted(imported(source))
                      if any(name == x or name.startswith(x + ".") for x in SDK_INTERNALS)]
        if path not in WRAPPERS:
            found += [f"{path} mentions {text}" for text in CLIENT_INTERNALS if text in source]
    return found


def project_sources() -> dict[str, str]:
    return {path.relative_to(PROJECT_DIR).as_posix(): path.read_text(encoding="utf-8")
            for path in application_modules(PROJECT_DIR)}


def test_only_the_wrappers_know_boto3_botocore_and_the_sdks_errors() -> None:
    sources = project_sources()
    assert {"app.py", "chalicelib/tagging.py", "chalicelib/faces.py"} <= set(sources)
    assert violations(sources) == []


def test_a_flow_importing_botocore_or_the_sdks_errors_is_caught() -> None:
    assert violations({
        "chalicelib/tagging.py": "from botocore.exceptions import ClientError\n",
        "chalicelib/reconcile.py": "import cloudinary.exceptions as cld\n",
        "facetag_cli/cli.py": "from cloudinary import exceptions\nimport boto3\n",
        "chalicelib/library.py": "import cloudinary.exceptions\n",
    }) == ["chalicelib/reconcile.py imports cloudinary.exceptions",
           "chalicelib/tagging.py imports botocore.exceptions",
           "chalicelib/tagging.py imports botocore.exceptions.ClientError",
           "facetag_cli/cli.py imports boto3",
           "facetag_cli/cli.py imports cloudinary.exceptions"]


def test_a_flow_touching_a_clients_internals_is_caught() -> None:
    assert violations({
        "chalicelib/people.py": "missing = faces.client.exceptions.ResourceNotFoundException\n",
        "chalicelib/reconcile.py": "events = self.tagger.faces.client.meta.events\n",
        "chalicelib/faces.py": "client.meta.events.register('before-parameter-build', count)\n",
    }) == ["chalicelib/people.py mentions .client.exceptions",
           "chalicelib/reconcile.py mentions .meta.events"]


def test_the_cli_package_is_read_wherever_it_lives(tmp_path: Path) -> None:
    for path in ("app.py", "chalicelib/tagging.py", "facetag_cli/__init__.py",
                 "facetag_cli/cli.py", "emulators/server.py"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("")
    found = {p.relative_to(tmp_path).as_posix() for p in application_modules(tmp_path)}
    assert found == {"app.py", "chalicelib/tagging.py", "facetag_cli/__init__.py",
                     "facetag_cli/cli.py"}
