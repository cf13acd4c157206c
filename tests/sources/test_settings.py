"""The [sources] settings: a table per source, environment overrides, clear errors, every setting documented."""

from __future__ import annotations

import pytest

from tenderwatch.exceptions import SettingsError
from tenderwatch.sources import SOURCES, load_source_settings, sources_pages
from tenderwatch.sources.settings import CommonSettings
from tests import ROOT


def test_the_file_sets_each_source_and_the_environment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    document = {
        "sources": {
            "enabled": ["uk-find-a-tender"],
            "max_attempts": 7,
            "uk-find-a-tender": {"base_url": "https://fts-mirror.example.org/api/1.0/", "min_interval": 12},
        }
    }
    monkeypatch.setenv("TENDERWATCH_SOURCES_ENABLED", "uk-find-a-tender, ocds-url")
    monkeypatch.setenv("TENDERWATCH_SOURCES_UK_FIND_A_TENDER_MIN_INTERVAL", "15")
    monkeypatch.setenv("TENDERWATCH_SOURCES_OCDS_URL_URLS", "https://a.example.org/x.json,https://b.example.org/y.zip")

    settings = load_source_settings(document)

    assert settings.common.enabled == ["uk-find-a-tender", "ocds-url"]
    assert settings.common.max_attempts == 7
    fts = settings.of("uk-find-a-tender")
    assert (fts.base_url, fts.min_interval) == ("https://fts-mirror.example.org/api/1.0/", 15)
    assert settings.of("uk-contracts-finder").min_interval == 1
    assert settings.of("ocds-url").urls == ["https://a.example.org/x.json", "https://b.example.org/y.zip"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"uk-find-a-tender": {"base_ur": "x"}}, "unknown setting 'sources.uk-find-a-tender.base_ur'"),
        ({"uk-find-a-tender": {"base_url": "ftp://x"}}, "setting 'sources.uk-find-a-tender.base_url' is invalid"),
        ({"enabled": ["uk-fts"]}, "setting 'sources.enabled' names an unknown source 'uk-fts'"),
        ({"uk-fts": {}}, "unknown source 'sources.uk-fts' in the settings file"),
        ({"max_attempts": 0}, "setting 'sources.max_attempts' is invalid"),
    ],
)
def test_a_wrong_setting_is_refused_with_what_to_fix(table: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_source_settings({"sources": table})


def test_every_setting_has_a_description_and_every_page_is_up_to_date() -> None:
    models = [CommonSettings] + [source.settings_model for source in SOURCES.values()]
    for model in models:
        for name, field in model.model_fields.items():
            assert field.description and len(field.description) > 20, f"{model.__name__}.{name}"
    for name, text in sources_pages().items():
        path = ROOT / "docs" / "sources" / name
        assert path.is_file() and path.read_text(encoding="utf-8") == text, f"docs/sources/{name} is out of date"
