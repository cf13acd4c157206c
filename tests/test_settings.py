"""One typed settings object, from the environment and a settings file, every setting documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenderwatch.exceptions import SettingsError
from tenderwatch.settings import Settings, load_settings
from tests import ROOT, run_cli


def test_defaults_environment_file_and_options_in_order_of_priority(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_settings().db == Path("tenderwatch.duckdb")
    settings_file = tmp_path / "tenderwatch.toml"
    settings_file.write_text('memory_limit = "512MB"\nbatch_size = 7\n')
    assert load_settings().batch_size == 7  # ./tenderwatch.toml is read when present
    monkeypatch.setenv("TENDERWATCH_BATCH_SIZE", "9")
    assert load_settings().batch_size == 9  # the environment wins over the file
    assert load_settings(batch_size=11).batch_size == 11  # an option wins over both
    assert load_settings().memory_limit == "512MB"


def test_an_unknown_key_in_the_settings_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "other.toml"
    path.write_text("batch_sise = 3\n")
    with pytest.raises(SettingsError, match="unknown setting 'batch_sise'"):
        load_settings(path)


def test_a_bad_value_is_one_line_from_the_command(tmp_path: Path) -> None:
    result = run_cli("status", env={"TENDERWATCH_MEMORY_LIMIT": "lots"}, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: setting 'memory_limit' is invalid: Value error, give a size with a unit, such as 512MB or 2GB: "
        "fix the value (see docs/settings.md)"
    )


def test_a_missing_settings_file_is_reported(tmp_path: Path) -> None:
    result = run_cli("status", "--settings", str(tmp_path / "none.toml"), cwd=tmp_path)
    assert result.returncode == 1
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr


def test_every_setting_has_a_description_and_is_in_the_docs() -> None:
    page = (ROOT / "docs" / "settings.md").read_text()
    for name, field in Settings.model_fields.items():
        assert field.description, name
        assert f"`TENDERWATCH_{name.upper()}`" in page
