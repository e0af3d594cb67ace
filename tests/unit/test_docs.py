"""The README documents every setting, with its default."""

from __future__ import annotations

from dataclasses import fields

from chalicelib.settings import ENV_NAMES, Settings
from emulators.processes import PROJECT_DIR

README = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")


def settings_rows() -> dict[str, str]:
    rows = {}
    for line in README.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].startswith("`FACETAG_"):
            rows[cells[0].strip("`")] = cells[1]
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
        elif isinstance(value, float):
            assert float(documented) == value
        else:
            assert documented == str(value)
