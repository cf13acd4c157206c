"""``tenderwatch rebuild``: recompile and renormalise everything from the raw store."""

from __future__ import annotations

from tenderwatch.cli.options import DbOption, SettingsOption, open_workspace, settings_for
from tenderwatch.cli.output import ConsoleReporter, console


def command(db: DbOption = None, settings_file: SettingsOption = None) -> None:
    """Rebuild the compiled releases and every normalised table from the stored releases.

    Use it after upgrading tenderwatch or changing a setting that shapes the tables (release_schema,
    naive_timezone, max_amount, min_year, max_year). No source is read again. If it is interrupted, run it
    again (or any load) to finish.
    """
    settings = settings_for(db, settings_file)
    with open_workspace(settings) as workspace, ConsoleReporter(settings) as reporter:
        processes, errors = workspace.rebuild(reporter=reporter)
    console.print(
        f"rebuilt {processes:,} processes" + (f" ({errors:,} could not be compiled)" if errors else ""), markup=False
    )
