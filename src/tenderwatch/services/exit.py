"""The provider-exit scenario: if a supplier (or a whole corporate group) walked away, which statutory services
and which public bodies would lose their provider, what is at stake (value, statutory duties), and who else
provides the same service nearby.

It reads the tables :func:`tenderwatch.services.build_services` wrote (``service_contracts``,
``service_continuity``, ``service_duties``), so it works on the store and on the web app's snapshots alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import duckdb

from tenderwatch.exceptions import InputError
from tenderwatch.queries import format_money, has_table, rows
from tenderwatch.records import identifier_key, name_key, name_key_sql

ALTERNATIVES = 5


@dataclass
class ExitService:
    """One statutory service that depends on the supplier."""

    commissioner_id: str
    commissioner_name: str | None
    region: str | None
    area_id: str
    area_name: str
    duties: list[dict[str, Any]]
    share: float | None
    value: list[dict[str, Any]]
    in_force: bool
    contracts: list[dict[str, Any]]
    score: float | None
    band: str | None
    sentence: str | None
    alternatives: list[dict[str, Any]]
    alternatives_scope: str


@dataclass
class ExitScenario:
    """What would be at stake if the supplier or group left."""

    key: str
    label: str
    kind: str
    supplier_ids: list[str]
    names: list[str]
    group_id: str | None
    group_name: str | None
    services: list[ExitService] = field(default_factory=list)

    @property
    def commissioners(self) -> int:
        """Return the number of public bodies with a service that depends on the supplier."""
        return len({service.commissioner_id for service in self.services})

    @property
    def in_force(self) -> int:
        """Return the number of services in which the supplier holds a contract in force today."""
        return sum(1 for service in self.services if service.in_force)

    @property
    def duties(self) -> list[dict[str, Any]]:
        """Return every statutory duty at stake, once each."""
        seen: dict[str, dict[str, Any]] = {}
        for service in self.services:
            for duty in service.duties:
                seen.setdefault(duty["duty_id"], duty)
        return sorted(seen.values(), key=lambda duty: duty["duty_id"])

    @property
    def totals(self) -> list[dict[str, Any]]:
        """Return the value of the supplier's contracts in the services, per currency (a contract that serves two
        public bodies, a buyer and a funder, counted once)."""
        sums: dict[str | None, Decimal] = {}
        seen: set[tuple[Any, ...]] = set()
        for service in self.services:
            for contract in service.contracts:
                key = (contract["ocid"], contract["contract_id"], contract["award_id"], contract["supplier"])
                if key in seen or contract["value"] is None:
                    continue
                seen.add(key)
                currency = contract["currency"]
                sums[currency] = sums.get(currency, Decimal(0)) + Decimal(str(contract["value"]))
        return [
            {"currency": currency, "amount": amount, "text": format_money(amount, currency)}
            for currency, amount in sorted(sums.items(), key=lambda pair: -pair[1])
        ]

    def summary(self) -> str:
        """Return the scenario in one sentence."""
        if not self.services:
            return f"No statutory service in the store depends on {self.label}."
        money = ", ".join(item["text"] for item in self.totals) or "no published value"
        return (
            f"If {self.label} walked away, {len(self.services)} statutory service"
            f"{'s' if len(self.services) != 1 else ''} of {self.commissioners} public bod"
            f"{'ies' if self.commissioners != 1 else 'y'} would lose a provider ({self.in_force} with a contract in "
            f"force today), {money} of contracts, with {len(self.duties)} statutory dut"
            f"{'ies' if len(self.duties) != 1 else 'y'} at stake."
        )


class AmbiguousSupplierError(InputError):
    """Raised when a name matches several suppliers; the message lists them."""

    hint = "give the supplier's id (a party id or an org-id such as GB-COH-01234567) or a more exact name"


def _suppliers(con: duckdb.DuckDBPyConnection, key: str) -> tuple[str, list[str], list[str], str | None, str | None]:
    """Return (kind, supplier ids, names, group id, group name) for a supplier id, party id, group or name."""
    text = key.strip()
    if has_table(con, "corporate_groups") and has_table(con, "organisations"):
        group = con.execute(
            "SELECT group_id, name FROM corporate_groups WHERE group_id = ? OR lower(name) = lower(?) LIMIT 1",
            [text, text],
        ).fetchall()
        if group:
            members = [
                row[0]
                for row in con.execute(
                    "SELECT organisation_id FROM organisations WHERE group_id = ? ORDER BY organisation_id",
                    [group[0][0]],
                ).fetchall()
            ]
            names = _names(con, members)
            return "group", members, names, group[0][0], group[0][1]
    found = [
        row[0]
        for row in con.execute(
            "SELECT DISTINCT supplier_id FROM service_contracts WHERE supplier_id = ? OR supplier_party_id = ? "
            "OR upper(supplier_identifier) = ?",
            [text, text, identifier_key(text) or text],
        ).fetchall()
    ]
    if not found and has_table(con, "organisations"):
        found = [
            row[0]
            for row in con.execute(
                "SELECT organisation_id FROM organisations WHERE organisation_id = ? OR list_contains(identifiers, ?)",
                [text, identifier_key(text) or text],
            ).fetchall()
        ]
    if not found:
        key_text = name_key(text)
        found = [
            row[0]
            for row in con.execute(
                f"SELECT DISTINCT supplier_id FROM service_contracts WHERE {name_key_sql('supplier_name')} = ?",
                [key_text],
            ).fetchall()
        ]
        if not found and len(text) >= 3:
            matches = con.execute(
                "SELECT supplier_id, min(supplier_name) FROM service_contracts WHERE supplier_name ILIKE ? "
                "GROUP BY supplier_id ORDER BY 2 LIMIT 11",
                [f"%{text}%"],
            ).fetchall()
            if len(matches) > 1:
                listed = "; ".join(f"{name} ({supplier})" for supplier, name in matches[:10])
                raise AmbiguousSupplierError(f"{text!r} matches several suppliers: {listed}")
            found = [row[0] for row in matches]
    if not found:
        # A supplier of the store that provides no statutory service is still a supplier.
        party = con.execute(
            "SELECT party_id, min(name) FROM award_suppliers WHERE party_id = ? GROUP BY party_id", [text]
        ).fetchall()
        if party:
            return "supplier", [party[0][0]], [party[0][1]], None, None
        return "unknown", [], [], None, None
    return "supplier", sorted(found), _names(con, found), None, None


def _names(con: duckdb.DuckDBPyConnection, supplier_ids: list[str]) -> list[str]:
    names = [
        row[0]
        for row in con.execute(
            "SELECT supplier_name FROM service_contracts WHERE list_contains(?, supplier_id) GROUP BY supplier_name "
            "ORDER BY count(*) DESC, supplier_name",
            [supplier_ids],
        ).fetchall()
    ]
    if not names and has_table(con, "organisations"):
        names = [
            row[0]
            for row in con.execute(
                "SELECT name FROM organisations WHERE list_contains(?, organisation_id) ORDER BY name", [supplier_ids]
            ).fetchall()
        ]
    return names


def exit_scenario(
    con: duckdb.DuckDBPyConnection, key: str, *, alternatives: int = ALTERNATIVES
) -> ExitScenario | None:
    """Return the exit scenario of a supplier (party id, organisation id, identifier or name) or of a corporate
    group (its id or name); None when the store holds no such supplier or group.

    :raises AmbiguousSupplierError: if a part of a name matches several suppliers
    """
    if not has_table(con, "service_contracts"):
        return None
    kind, supplier_ids, names, group_id, group_name = _suppliers(con, key)
    if kind == "unknown":
        return None
    label = f"the {group_name} group" if kind == "group" else (names[0] if names else key)
    scenario = ExitScenario(key, label, kind, supplier_ids, names, group_id, group_name)
    if not supplier_ids:
        return scenario
    services = rows(
        con,
        """
        WITH mine AS (
            SELECT * FROM service_contracts WHERE in_service AND list_contains(?, supplier_id)
        ),
        services AS (SELECT DISTINCT commissioner_id, area_id FROM mine),
        service_totals AS (
            SELECT s.commissioner_id, s.area_id, mode(s.value_currency) AS currency
            FROM service_contracts AS s JOIN services USING (commissioner_id, area_id)
            WHERE s.in_service AND s.value_amount IS NOT NULL
            GROUP BY ALL
        ),
        shares AS (
            SELECT s.commissioner_id, s.area_id,
                   CASE WHEN sum(s.value_amount) FILTER (WHERE s.value_currency = t.currency) > 0
                        THEN sum(s.value_amount) FILTER (WHERE s.value_currency = t.currency
                                                         AND list_contains(?, s.supplier_id))
                             / sum(s.value_amount) FILTER (WHERE s.value_currency = t.currency)
                        ELSE count(*) FILTER (WHERE list_contains(?, s.supplier_id)) / count(*) END AS share
            FROM service_contracts AS s
            JOIN services USING (commissioner_id, area_id)
            LEFT JOIN service_totals AS t USING (commissioner_id, area_id)
            WHERE s.in_service
            GROUP BY s.commissioner_id, s.area_id
        )
        SELECT m.commissioner_id, min(m.commissioner_name) AS commissioner_name, min(m.region) AS region,
               m.area_id, min(a.name) AS area_name, bool_or(m.in_force) AS in_force,
               min(sh.share) AS share,
               list(struct_pack(ocid := m.ocid, contract_id := m.contract_id, award_id := m.award_id,
                                title := m.title, supplier := m.supplier_name, value := m.value_amount,
                                currency := m.value_currency, start_date := m.start_date::DATE,
                                end_date := m.end_date::DATE, latest_possible_end := m.latest_possible_end::DATE,
                                status := m.status, in_force := m.in_force)
                    ORDER BY m.end_date DESC NULLS LAST, m.ocid) AS contracts,
               min(c.score) AS score, min(c.band) AS band, min(c.sentence) AS sentence
        FROM mine AS m
        JOIN service_areas AS a USING (area_id)
        LEFT JOIN shares AS sh USING (commissioner_id, area_id)
        LEFT JOIN service_continuity AS c USING (commissioner_id, area_id)
        GROUP BY m.commissioner_id, m.area_id
        ORDER BY bool_or(m.in_force) DESC, min(sh.share) DESC NULLS LAST, min(m.commissioner_name)
        """,
        [supplier_ids, supplier_ids, supplier_ids],
    )
    duties: dict[str, list[dict[str, Any]]] = {}
    for row in rows(con, "SELECT * FROM service_duties ORDER BY area_id, position"):
        duties.setdefault(row["area_id"], []).append(row)
    for service in services:
        values: dict[str | None, Decimal] = {}
        for contract in service["contracts"]:
            if contract["value"] is not None:
                currency = contract["currency"]
                values[currency] = values.get(currency, Decimal(0)) + Decimal(str(contract["value"]))
        nearby, scope = _alternatives(con, service["area_id"], service["region"], supplier_ids, alternatives)
        scenario.services.append(
            ExitService(
                commissioner_id=service["commissioner_id"],
                commissioner_name=service["commissioner_name"],
                region=service["region"],
                area_id=service["area_id"],
                area_name=service["area_name"],
                duties=duties.get(service["area_id"], []),
                share=service["share"],
                value=[
                    {"currency": currency, "amount": amount, "text": format_money(amount, currency)}
                    for currency, amount in values.items()
                ],
                in_force=bool(service["in_force"]),
                contracts=service["contracts"],
                score=service["score"],
                band=service["band"],
                sentence=service["sentence"],
                alternatives=nearby,
                alternatives_scope=scope,
            )
        )
    return scenario


def _alternatives(
    con: duckdb.DuckDBPyConnection, area_id: str, region: str | None, excluded: list[str], limit: int
) -> tuple[list[dict[str, Any]], str]:
    """Return the other providers of a service area in the region (else nationally) and which scope it was."""
    query = """
        SELECT supplier_id, min(supplier_party_id) AS supplier_party_id, min(supplier_name) AS name,
               bool_or(public_provider) AS public, count(DISTINCT commissioner_id) AS commissioners,
               count(DISTINCT ocid) AS processes, bool_or(in_force) AS in_force,
               sum(value_amount) FILTER (WHERE value_currency = 'GBP') AS value_gbp
        FROM service_contracts
        WHERE area_id = ? AND in_market AND NOT list_contains(?, supplier_id) {where}
        GROUP BY supplier_id
        ORDER BY bool_or(in_force) DESC, count(DISTINCT commissioner_id) DESC, value_gbp DESC NULLS LAST, name
        LIMIT ?
    """
    if region is not None:
        found = rows(con, query.format(where="AND region = ?"), [area_id, excluded, region, limit])
        if found:
            return found, "region"
    return rows(con, query.format(where=""), [area_id, excluded, limit]), "national"
