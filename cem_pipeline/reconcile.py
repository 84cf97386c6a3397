"""Reconciliation: every record served reaches raw, and every raw row is masked or quarantined.

For each committed load of an entity: ``records_served = rows_written + duplicates_skipped`` (raw
ledger), ``rows_written = passed + quarantined`` (gate ledger), and the masked and quarantine tables
hold exactly ``passed`` and ``quarantined`` rows of that load.
"""

from __future__ import annotations

from dataclasses import dataclass

from cem_pipeline import schema
from cem_pipeline.gates import GATE_LEDGER
from cem_pipeline.sources.catalog import Entity
from cem_pipeline.warehouse import Warehouse


@dataclass
class Reconciliation:
    entity: str
    loads: int
    served: int
    written: int
    duplicates: int
    passed: int
    quarantined: int
    masked_rows: int
    quarantined_rows: int
    mismatches: list[str]

    @property
    def ok(self) -> bool:
        return not self.mismatches


def reconcile(warehouse: Warehouse, entity: Entity) -> Reconciliation:
    raw, masked = schema.raw_table(entity.name), schema.masked_table(entity.name)
    with warehouse.connect(read_only=True) as con:
        rows = con.execute(f"""
            with loads as (
                select load_id, records_served, rows_written, duplicates_skipped
                from {schema.LOAD_LEDGER} where entity = $e and status = 'committed'
            ),
            raw_rows as (select _load_id, count(*) as n from {raw} group by 1),
            gate as (select load_id, passed, quarantined from {GATE_LEDGER} where entity = $e),
            masked_rows as (select _load_id, count(*) as n from {masked} group by 1),
            quarantined_rows as (
                select _load_id, count(distinct _record_hash) as n
                from {schema.QUARANTINE_TABLE} where entity = $e group by 1
            )
            select l.load_id, l.records_served, l.rows_written, l.duplicates_skipped,
                   coalesce(r.n, 0), g.passed, g.quarantined, coalesce(m.n, 0), coalesce(q.n, 0)
            from loads l
            left join raw_rows r on r._load_id = l.load_id
            left join gate g on g.load_id = l.load_id
            left join masked_rows m on m._load_id = l.load_id
            left join quarantined_rows q on q._load_id = l.load_id
            order by l.load_id
        """, {"e": entity.name}).fetchall()
    mismatches = []
    totals = [0] * 7
    for load, served, written, dups, raw_n, passed, quarantined, masked_n, quar_n in rows:
        if served != written + dups:
            mismatches.append(f"{load}: served {served} != written {written} + duplicates {dups}")
        if raw_n != written:
            mismatches.append(f"{load}: ledger says {written} rows written, raw holds {raw_n}")
        if passed is None:
            mismatches.append(f"{load}: landed but not gated yet")
            continue
        if written != passed + quarantined:
            mismatches.append(f"{load}: written {written} != passed {passed} + quarantined {quarantined}")
        if masked_n != passed:
            mismatches.append(f"{load}: {passed} passed but masked holds {masked_n}")
        if quar_n != quarantined:
            mismatches.append(f"{load}: {quarantined} quarantined but quarantine holds {quar_n}")
        for k, v in enumerate((served, written, dups, passed, quarantined, masked_n, quar_n)):
            totals[k] += v
    return Reconciliation(entity.name, len(rows), *totals, mismatches)
