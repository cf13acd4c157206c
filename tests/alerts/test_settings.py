"""The [alerts] settings: from the settings file, overridden by the environment, checked, and all documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenderwatch.alerts import AlertSettings, load_alert_settings
from tenderwatch.exceptions import SettingsError
from tenderwatch.settings import read_settings_file
from tests import ROOT


def test_the_environment_wins_over_the_settings_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "tenderwatch.toml"
    path.write_text('[alerts]\nvalue_change_percent = 5\nsmtp_host = "smtp.example.org"\n', encoding="utf-8")
    monkeypatch.setenv("TENDERWATCH_ALERTS_VALUE_CHANGE_PERCENT", "7.5")
    monkeypatch.setenv("TENDERWATCH_ALERTS_SMTP_PASSWORD", "from-the-environment")

    settings = load_alert_settings(read_settings_file(path))

    assert (settings.value_change_percent, settings.smtp_host) == (7.5, "smtp.example.org")
    assert settings.smtp_password.get_secret_value() == "from-the-environment"
    assert "from-the-environment" not in repr(settings)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('smtp_hots = "x"', "unknown setting 'alerts.smtp_hots': see docs/alerts.md for the settings that exist"),
        ('smtp_security = "ssl"', "setting 'alerts.smtp_security' is invalid: "),
        ("notice_age_days = -1", "setting 'alerts.notice_age_days' is invalid: "),
    ],
)
def test_a_bad_setting_is_refused_in_one_line(tmp_path: Path, table: str, message: str) -> None:
    path = tmp_path / "tenderwatch.toml"
    path.write_text(f"[alerts]\n{table}\n", encoding="utf-8")
    with pytest.raises(SettingsError) as error:
        load_alert_settings(read_settings_file(path))
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_every_setting_is_documented() -> None:
    page = (ROOT / "docs" / "alerts.md").read_text(encoding="utf-8")
    for name in AlertSettings.model_fields:
        assert f"`{name}`" in page, name
