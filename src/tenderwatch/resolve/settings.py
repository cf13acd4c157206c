"""Settings of organisation resolution: the ``[organisations]`` table of the settings file.

.. code-block:: toml

    [organisations]
    overrides_file = "tenderwatch-overrides.yaml"
    match_threshold = 0.99
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tenderwatch.exceptions import SettingsError


class OrganisationSettings(BaseModel):
    """How parties are matched into organisations and organisations into corporate groups."""

    model_config = ConfigDict(extra="forbid")

    overrides_file: Path = Field(
        default=Path("tenderwatch-overrides.yaml"),
        description="The YAML file of manual corrections (merge these parties, split those), applied at every "
        "resolution. A relative path is read from the folder tenderwatch runs in. Keep it under version control: "
        "it is not in the store, so a rebuild never loses it.",
    )
    probabilistic: bool = Field(
        default=True,
        description="Link the parties that no identifier or exact name joins with the Splink model (see "
        "docs/organisations.md). Off: only identifiers, exact names with postcodes and overrides link parties.",
    )
    match_threshold: float = Field(
        default=0.99,
        gt=0,
        lt=1,
        description="Match probability at or above which the model links two spellings into one organisation. "
        "Higher means fewer wrong links and more missed ones.",
    )
    groups_files: list[Path] = Field(
        default_factory=list,
        description="Extra corporate-groups files in the format of the one tenderwatch ships "
        "(src/tenderwatch/data/corporate_groups.yaml), read after it; a company listed again takes the later "
        "parent.",
    )
    shipped_groups: bool = Field(
        default=True,
        description="Use the corporate-groups file shipped with tenderwatch (the largest public-service suppliers, "
        "each fact with its source).",
    )
    ownership_min_share: float = Field(
        default=50,
        ge=0,
        le=100,
        description="Loaded beneficial-ownership statements make a company the parent of another when it holds "
        "more than this percentage of its shares or votes (or may appoint its board).",
    )
    memory_limit: str = Field(
        default="1GB",
        description="Most memory the probabilistic linkage's private DuckDB database may use.",
    )


def load_organisation_settings(document: dict[str, Any] | None = None) -> OrganisationSettings:
    """Return the settings from the ``[organisations]`` table of the settings file (or of ``document``).

    :raises SettingsError: if a value is invalid or the table has an unknown key
    """
    if document is None:
        from tenderwatch.settings import read_settings_file  # noqa: PLC0415

        document = read_settings_file()
    table = document.get("organisations", {})
    if not isinstance(table, dict):
        raise SettingsError("the 'organisations' entry of the settings file must be a table ([organisations])")
    try:
        return OrganisationSettings(**table)
    except ValidationError as error:
        first = error.errors()[0]
        name = ".".join(str(part) for part in first["loc"]) or "organisations"
        if first["type"] == "extra_forbidden":
            raise SettingsError(
                f"unknown setting 'organisations.{name}'", "see docs/organisations.md for the settings that exist"
            ) from error
        raise SettingsError(f"setting 'organisations.{name}' is invalid: {first['msg']}") from error
