#!/usr/bin/env python
"""Maintainer tasks for tenderwatch. Never imported by the package.

python manage.py merge-rules SCHEMA    regenerate src/tenderwatch/data/merge-rules-1.1.5.json
python manage.py docs                  regenerate the generated parts of docs/ (data model, settings, CLI)
python manage.py docs --check          fail if the generated docs are out of date
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def merge_rules(schema_path: str) -> None:
    from tenderwatch.compiler import rules_from_schema  # noqa: PLC0415

    rules = rules_from_schema(Path(schema_path))
    table = {
        "schema": "OCDS 1.1.5 release schema (open-contracting/standard, tag 1__1__5)",
        "omitWhenMerged": sorted(".".join(path) for path, rule in rules.items() if rule == "omitWhenMerged"),
        "wholeListMerge": sorted(".".join(path) for path, rule in rules.items() if rule == "wholeListMerge"),
    }
    target = ROOT / "src" / "tenderwatch" / "data" / "merge-rules-1.1.5.json"
    target.write_text(json.dumps(table, indent=2) + "\n", encoding="utf-8")


def docs(*, check: bool) -> int:
    from tenderwatch import docgen  # noqa: PLC0415

    stale = docgen.write_all(ROOT / "docs", check=check)
    for _path in stale:
        pass
    return 1 if (check and stale) else 0


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "merge-rules":
        merge_rules(argv[1])
        return 0
    if argv and argv[0] == "docs":
        return docs(check="--check" in argv)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
