"""Reconciliation: every record served reaches raw, and every raw row is masked or quarantined.

For each committed load of an entity: ``records_served = rows_written + duplicates_skipped`` (raw
ledger; served less ``suppressed``, the records of erased subjects that raw does not keep), ``rows_written = passed + quarantined`` (gate ledger), and the masked and quarantine tables
hold exactly ``passed`` and ``quarantined`` rows of that load.
"""

from __future__ import annotations

from dataclasses import dataclass

from cem_pipeline import schema
from cem_pipeline.schema import GATE_LEDGER
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
                select load_id, records_served - coalesce(suppressed, 0) as records_served, rows_written,
                       duplicates_skipped
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
    return check_loads(entity, rows)


def check_loads(entity: Entity, rows) -> Reconciliation:
    """The rules over one row per committed load: (load id, served, written, duplicates, raw rows, passed,
    quarantined, masked rows, quarantined rows); passed / quarantined are None for a load not gated yet.
    Each engine counts (the DuckDB query above, cem_pipeline.lake on Spark); the rules are here only."""
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


@dataclass
class StagedReconciliation:
    entity: str
    masked_ids: int
    staged_rows: int
    staged_ids: int
    quarantined_only_ids: int
    mismatches: list[str]

    @property
    def ok(self) -> bool:
        return not self.mismatches


def staged_queries(entity: Entity, rel=lambda name: name) -> tuple[str, str | None]:
    """The two queries of :func:`reconcile_staged` (the second only for sources whose id is not tokenized),
    over the relations ``rel`` names (identity on DuckDB; the lake's views on Spark: the SQL runs on both)."""
    model, key = entity.staging_model, entity.staging_key
    staged, masked = rel(f"{schema.STAGING}.{model}"), rel(schema.masked_table(entity.name))
    ids = f"""
        with m as (select distinct record_id as id from {masked} where record_id is not null),
             s as (select {key} as id from {staged})
        select (select count(*) from m), (select count(*) from s), (select count(distinct id) from s),
               (select count(*) from m where id not in (select id from s where id is not null)),
               (select count(*) from s where id is null or id not in (select id from m))"""
    if entity.field(entity.id_field).pii:
        return ids, None
    landed = f"""
        with r as (select distinct record_id as id from {rel(schema.raw_table(entity.name))} where record_id is not null),
             s as (select {key} as id from {staged}),
             q as (select distinct record_id as id from {rel(schema.QUARANTINE_TABLE)} where entity = '{entity.name}')
        select count(*) filter (where id not in (select id from s) and id not in (select id from q)),
               count(*) filter (where id not in (select id from s) and id in (select id from q))
        from r"""
    return ids, landed


def reconcile_staged(warehouse: Warehouse, entity: Entity) -> StagedReconciliation:
    """What is provable past masked: staging holds the latest version of each masked record, so the
    distinct masked record ids and the staged keys are the same set (no record lost or invented by
    dbt), one row each. And every record id that landed in raw is staged or quarantined (for
    sources whose id is not tokenized past raw; tokenized ids are covered by the per-load proof)."""
    ids, landed = staged_queries(entity)
    with warehouse.connect(read_only=True) as con:
        counts = con.execute(ids).fetchone()
        landed_counts = con.execute(landed).fetchone() if landed else (0, 0)
    return check_staged(entity, counts, landed_counts)


def check_staged(entity: Entity, counts, landed_counts) -> StagedReconciliation:
    """The rules over the counts of :func:`staged_queries` (both engines)."""
    m_ids, s_rows, s_ids, only_masked, only_staged = counts
    lost, quarantined_only = landed_counts
    staged, key = f"{schema.STAGING}.{entity.staging_model}", entity.staging_key
    mismatches = []
    if s_rows != s_ids:
        mismatches.append(f"{staged} holds {s_rows} rows for {s_ids} distinct {key}")
    if only_masked:
        mismatches.append(f"{only_masked} record ids passed the gates but are missing from {staged}")
    if only_staged:
        mismatches.append(f"{only_staged} rows of {staged} have no masked record behind them")
    if lost:
        mismatches.append(f"{lost} record ids landed in raw are neither staged nor quarantined")
    return StagedReconciliation(entity.name, m_ids, s_rows, s_ids, quarantined_only, mismatches)
