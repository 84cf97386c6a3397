"""The simulator's HTTP API (Flask): five source systems with cursor paging, API keys and faults.

``GET <entity path>?updated_since=ISO&cursor=TOKEN&limit=N`` returns
``{"data": [...], "next_cursor": TOKEN | null}``, records ordered by ``updated_at`` (exclusive of
``updated_since``). The cursor pins the snapshot (the clock at the first page), so paging is stable
while the clock moves. Admin endpoints move the clock, set faults, count what was served and write
the ground truth.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import time
from collections import OrderedDict, defaultdict

import numpy as np
from flask import Flask, Response, jsonify, request

from cem_pipeline.simulator.faults import RECORD_FAULTS, FaultInjector, FaultPlan
from cem_pipeline.simulator.world import HOUR, World, iso
from cem_pipeline.sources.catalog import ENTITIES

MAX_PAGE = 10_000


def _encode(token: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(token, separators=(",", ":")).encode()).decode()


def _decode(token: str) -> dict:
    try:
        out = json.loads(base64.urlsafe_b64decode(token.encode()))
        int(out["n"]), int(out["s"]), int(out["o"])
        return out
    except Exception:
        raise ValueError("invalid cursor") from None


def _parse_since(value: str | None) -> int:
    if not value:
        return -(2**62)
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"updated_since={value!r} is not an ISO-8601 timestamp") from None
    if parsed.tzinfo is None:
        raise ValueError("updated_since needs a UTC offset, e.g. 2026-10-01T00:00:00+08:00")
    return int(parsed.timestamp())


def _break_record(record: dict, id_field: str, k: int) -> dict:
    """A few of the ways a real source sends a bad record (the quality gate catalogues more)."""
    broken = dict(record)
    kind = k % 4
    if kind == 0 and "score" in broken:
        broken["score"] = "ten"
    elif kind == 0 and "rating" in broken:
        broken["rating"] = 7
    elif kind == 1:
        broken.pop(id_field, None)
    elif kind == 2:
        broken["updated_at"] = "not-a-date"
    else:
        broken["_corrupt"] = "\x00\ufffd"
    return broken


class SimulatorState:
    def __init__(self, world: World, api_key: str):
        self.world = world
        self.api_key = api_key
        self.now = world.initial_now
        self.faults = FaultInjector()
        self.lock = threading.Lock()
        self.served = defaultdict(int)  # entity -> records served (including duplicates)
        self.requests = defaultdict(int)
        self._snapshots: OrderedDict = OrderedDict()
        self.faulted = defaultdict(dict)  # entity -> {record fault kind: record id it was applied to}
        self.corrections = defaultdict(dict)  # entity -> {record id: clock when corrected at the source}

    def snapshot(self, entity: str, since: int, now: int):
        """Visible records changed after ``since`` at clock ``now``, in cursor order (cached)."""
        key = (entity, since, now)
        with self.lock:
            if key in self._snapshots:
                self._snapshots.move_to_end(key)
                return self._snapshots[key]
        table = self.world.tables[entity]
        idx, cur, is_v2 = table.visible_current(now)
        keep = cur > since
        idx, cur, is_v2 = idx[keep], cur[keep], is_v2[keep]
        order = np.lexsort((idx, cur))
        snap = (idx[order], is_v2[order])
        with self.lock:
            self._snapshots[key] = snap
            while len(self._snapshots) > 64:
                self._snapshots.popitem(last=False)
        return snap


def create_app(state: SimulatorState) -> Flask:
    app = Flask("cem_simulator")
    app.json.ensure_ascii = False
    app.json.sort_keys = False

    def unauthorized():
        return jsonify(error="missing or wrong API key: send it in the X-API-Key header"), 401

    @app.before_request
    def check_key():
        if request.path == "/health":
            return None
        if request.headers.get("X-API-Key") != state.api_key:
            return unauthorized()
        return None

    @app.get("/health")
    def health():
        return {"status": "ok"}

    for ent in ENTITIES:
        app.add_url_rule(ent.path, f"list_{ent.name}", _lister(state, ent.name, ent.id_field), methods=["GET"])

    @app.post("/admin/advance")
    def advance():
        hours = float(request.args.get("hours", 1))
        with state.lock:
            state.now += int(hours * HOUR)
        return {"now": dt.datetime.fromtimestamp(state.now, dt.timezone.utc).isoformat(), "now_ts": state.now}

    @app.get("/admin/clock")
    def clock():
        return {"now": dt.datetime.fromtimestamp(state.now, dt.timezone.utc).isoformat(), "now_ts": state.now}

    @app.post("/admin/clock")
    def set_clock():
        state.now = int(request.get_json(force=True)["now_ts"])
        return {"now_ts": state.now}

    @app.post("/admin/faults")
    def faults():
        try:
            plan = FaultPlan.from_json(request.get_json(force=True) or {})
        except (TypeError, ValueError) as exc:
            return jsonify(error=str(exc)), 400
        state.faults.set(plan)
        return plan.to_json()

    @app.get("/admin/faulted")
    def faulted():
        return {e: dict(kinds) for e, kinds in state.faulted.items()}

    @app.post("/admin/correct")
    def correct():
        """The source fixes records: each is served again, as it is now, with ``updated_at`` = the clock."""
        body = request.get_json(force=True)
        with state.lock:
            for rid in body["ids"]:
                state.corrections[body["entity"]][rid] = state.now
        return {"corrected": len(body["ids"]), "now_ts": state.now}

    @app.get("/admin/stats")
    def stats():
        return {"served": dict(state.served), "requests": dict(state.requests), "now_ts": state.now}

    @app.post("/admin/truth")
    def truth():
        from cem_pipeline.simulator.truth import write_truth

        path = request.get_json(force=True)["path"]
        return {"written": write_truth(state.world, path, state.now)}

    return app


def _corrected(state: SimulatorState, entity: str, id_field: str, since: int, now: int) -> list[dict]:
    """Records corrected at the source inside (since, now], as they are now, re-stamped."""
    table = state.world.tables[entity]
    out = []
    for rid, at in sorted(state.corrections[entity].items()):
        if since < at <= now:
            idx = np.flatnonzero(table.ids == rid)[:1]
            record = table.build(idx, table.t2[idx] <= now)[0]
            record["updated_at"] = iso(at)
            out.append(record)
    return out


def _lister(state: SimulatorState, entity: str, id_field: str):
    def handler():
        state.requests[entity] += 1
        try:
            limit = int(request.args.get("limit", 1000))
            if not 1 <= limit <= MAX_PAGE:
                raise ValueError(f"limit must be between 1 and {MAX_PAGE}")
            cursor = request.args.get("cursor")
            if cursor:
                token = _decode(cursor)
            else:
                token = {"s": _parse_since(request.args.get("updated_since")), "n": state.now, "o": 0}
        except ValueError as exc:
            return jsonify(error=str(exc)), 400

        plan = state.faults.plan
        fault = state.faults.next_request_fault()
        if plan.delay_s:
            time.sleep(plan.delay_s)
        if fault in ("error_500", "error_503"):
            return jsonify(error="injected server error"), int(fault[-3:])
        if fault == "rate_limit":
            return Response(json.dumps({"error": "slow down"}), 429,
                            {"Retry-After": str(plan.retry_after_s), "Content-Type": "application/json"})
        if fault == "timeout":  # the client has given up by the time this answers
            time.sleep(plan.slow_s)
            return jsonify(error="too slow"), 504

        idx, is_v2 = state.snapshot(entity, int(token["s"]), int(token["n"]))
        pages = max(1, -(-len(idx) // limit))
        page_no = int(token["o"])
        served_page = page_no
        if plan.out_of_order and (page_no ^ 1) < pages:
            served_page = page_no ^ 1
        lo = served_page * limit
        page_idx, page_v2 = idx[lo:lo + limit], is_v2[lo:lo + limit]
        records = state.world.tables[entity].build(page_idx, page_v2)
        # Scripted page-level faults apply to this one page (a scripted out_of_order cannot swap
        # pages: one request alone would serve a page twice and skip its partner).
        if plan.out_of_order or fault == "out_of_order":
            records.reverse()
        if plan.unknown_field or fault == "unknown_field":
            for r in records:
                r["loyalty_segment_v2"] = "new-field"
        if plan.malformed_rate:
            records = [_break_record(r, id_field, k) if state.faults.record_is_malformed() else r
                       for k, r in enumerate(records)]
        if fault == "malformed" and records:
            records[0] = _break_record(records[0], id_field, page_no)
        kinds = plan.record_faults.get(entity, [])
        if kinds and lo < len(kinds):
            out = []
            for pos, r in enumerate(records, start=lo):
                if pos < len(kinds) and isinstance(r, dict):
                    state.faulted[entity][kinds[pos]] = r.get(id_field)
                    out.extend(RECORD_FAULTS[kinds[pos]].apply(r, id_field))
                else:
                    out.append(r)
            records = out

        next_page = page_no + 1
        if fault == "duplicate_page":
            next_page = page_no  # the same page once more
        next_cursor = _encode({**token, "o": next_page}) if next_page < pages else None
        if next_cursor is None and state.corrections.get(entity):
            records.extend(_corrected(state, entity, id_field, int(token["s"]), int(token["n"])))
        body = json.dumps({"data": records, "next_cursor": next_cursor}, ensure_ascii=False)
        if fault == "bad_encoding":  # a UTF-16 body labelled UTF-8: unparsable, fetched again
            return Response(b"\xff\xfe" + body.encode("utf-16-le"), 200,
                            {"Content-Type": "application/json; charset=utf-8"})
        if fault == "truncate":
            body = body[: max(1, len(body) // 2)]
        else:
            state.served[entity] += len(records)
        return Response(body, 200, {"Content-Type": "application/json; charset=utf-8"})

    return handler
