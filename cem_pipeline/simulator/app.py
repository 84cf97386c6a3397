"""The simulator's HTTP API (Flask): five source systems with paging, auth and faults.

In the default style, ``GET <entity path>?updated_since=ISO&cursor=TOKEN&limit=N`` returns
``{"data": [...], "next_cursor": TOKEN | null}``, records ordered by ``updated_at`` (exclusive of
``updated_since``). The cursor pins the snapshot (the clock at the first page), so paging is stable
while the clock moves; so do the page tokens of the next links. The ``mixed`` style (:mod:`styles`) serves
each system with another paginator, auth, record path and field names; offset and page-number pages are
cut from the snapshot at the current clock (as such APIs do). The faults apply in every style. Admin
endpoints (``X-API-Key`` in every style) move the clock, set faults, count what was served, control the
OAuth2 tokens and write the ground truth.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import threading
import time
from collections import OrderedDict, defaultdict, deque
from urllib.parse import urlencode

import numpy as np
from flask import Flask, Response, jsonify, request

from cem_pipeline.simulator.faults import RECORD_FAULTS, FaultInjector, FaultPlan
from cem_pipeline.simulator.styles import BASIC_USER, OAUTH_CLIENT_ID, TOKEN_PATH, SystemStyle, style
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


def _parse_since(value: str | None, fmt: str = "iso8601") -> int:
    if not value:
        return -(2**62)
    if fmt in ("epoch_s", "epoch_ms"):
        try:
            number = int(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a whole number of {fmt[6:]} since 1970") from None
        return number // 1000 if fmt == "epoch_ms" else number
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
    def __init__(self, world: World, api_key: str, style_name: str = "default", token_ttl_s: float = 3600.0):
        self.world = world
        self.api_key = api_key
        self.style_name = style_name
        self.style = style(style_name)  # system -> SystemStyle
        self.token_ttl_s = token_ttl_s  # OAuth2 access tokens live this long (wall-clock seconds)
        self.tokens: dict[str, float] = {}  # access token -> time.monotonic() it expires at
        self.tokens_issued = 0
        self.unauthorized = defaultdict(int)  # entity -> data requests refused for auth
        self.request_log = defaultdict(lambda: deque(maxlen=2000))  # entity -> monotonic time of each data request
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

    routes = {}
    for ent in ENTITIES:
        path = state.style[ent.system].paths.get(ent.name, ent.path)
        routes[path] = ent
        app.add_url_rule(path, f"list_{ent.name}", _lister(state, ent.name, ent.id_field, state.style[ent.system]),
                         methods=["GET"])

    @app.before_request
    def check_key():
        if request.path in ("/health", TOKEN_PATH):
            return None
        ent = routes.get(request.path)
        if ent is None:  # admin endpoints take the X-API-Key header in every style
            return unauthorized() if request.headers.get("X-API-Key") != state.api_key else None
        problem = _auth_problem(state, state.style[ent.system].auth)
        if problem:
            state.unauthorized[ent.name] += 1
            return jsonify(error=problem), 401
        return None

    @app.get("/health")
    def health():
        return {"status": "ok"}

    @app.post(TOKEN_PATH)
    def token():
        """OAuth2 client credentials (RFC 6749 4.4): client id and secret as HTTP basic or form fields."""
        auth = request.authorization
        client_id, secret = (auth.username, auth.password) if auth and auth.type == "basic" else (
            request.form.get("client_id"), request.form.get("client_secret"))
        if request.form.get("grant_type") != "client_credentials":
            return jsonify(error="unsupported_grant_type"), 400
        if client_id != OAUTH_CLIENT_ID or secret != state.api_key:
            return jsonify(error="invalid_client"), 401
        with state.lock:
            now = time.monotonic()
            state.tokens = {t: at for t, at in state.tokens.items() if at > now}
            issued = secrets.token_urlsafe(18)
            state.tokens[issued] = now + state.token_ttl_s
            state.tokens_issued += 1
        return {"access_token": issued, "token_type": "Bearer", "expires_in": state.token_ttl_s}

    @app.post("/admin/oauth")
    def oauth_admin():
        """``{"ttl_s": N}`` sets the lifetime of tokens issued from now on; ``{"revoke": true}`` ends every token."""
        body = request.get_json(force=True) or {}
        with state.lock:
            if "ttl_s" in body:
                state.token_ttl_s = float(body["ttl_s"])
            if body.get("revoke"):
                state.tokens.clear()
        return {"ttl_s": state.token_ttl_s, "tokens": len(state.tokens), "issued": state.tokens_issued}

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
        return {"served": dict(state.served), "requests": dict(state.requests), "now_ts": state.now,
                "unauthorized": dict(state.unauthorized), "tokens_issued": state.tokens_issued,
                "style": state.style_name}

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


def _auth_problem(state: SimulatorState, kind: str) -> str | None:
    """Why a data request's credentials are refused in this auth style, or None."""
    if kind == "api_key_header":
        ok = request.headers.get("X-API-Key") == state.api_key
        return None if ok else "missing or wrong API key: send it in the X-API-Key header"
    if kind == "api_key_query":
        ok = request.args.get("api_key") == state.api_key
        return None if ok else "missing or wrong API key: send it as the api_key query parameter"
    if kind == "http_basic":
        auth = request.authorization
        ok = auth is not None and auth.type == "basic" and (auth.username, auth.password) == (BASIC_USER, state.api_key)
        return None if ok else "missing or wrong user or password (HTTP basic)"
    header = request.headers.get("Authorization", "")
    given = header[7:] if header.startswith("Bearer ") else None
    if kind == "bearer":
        return None if given == state.api_key else "missing or wrong bearer token"
    expires = state.tokens.get(given or "")
    return None if expires is not None and expires > time.monotonic() else "invalid or expired access token"


def _since_from(style: SystemStyle) -> int:
    return _parse_since(request.args.get(style.since_param), style.since_format)


def _limit(param: str) -> int:
    limit = int(request.args.get(param, 1000))
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"{param} must be between 1 and {MAX_PAGE}")
    return limit


def _request_page(state: SimulatorState, style: SystemStyle) -> tuple[dict, int]:
    """(the snapshot token {s: since, n: clock, o: page index}, page size) of this request, in its style."""
    kind = style.paginator
    if kind == "cursor":
        limit = _limit("limit")
        cursor = request.args.get("cursor")
        return (_decode(cursor) if cursor else {"s": _since_from(style), "n": state.now, "o": 0}), limit
    if kind in ("json_link", "header_link"):
        limit = _limit(style.page_size_param)
        token = request.args.get("page_token")
        return (_decode(token) if token else {"s": _since_from(style), "n": state.now, "o": 0}), limit
    if kind == "offset":
        limit = _limit("limit")
        offset = int(request.args.get("offset", 0))
        if offset < 0 or offset % limit:
            raise ValueError("offset must be a non-negative multiple of limit")
        return {"s": _since_from(style), "n": state.now, "o": offset // limit}, limit
    limit = _limit(style.page_size_param)  # page_number, from 1
    page = int(request.args.get("page", 1))
    if page < 1:
        raise ValueError("page numbers start at 1")
    return {"s": _since_from(style), "n": state.now, "o": page - 1}, limit


def _render(style: SystemStyle, records: list, token: dict, next_page: int | None, pages: int, total: int, limit: int):
    """The page's body (text) and extra headers in the style's shape."""
    kind = style.paginator
    next_token = _encode({**token, "o": next_page}) if next_page is not None else None
    # Like many APIs, a next link repeats the request's other parameters (an API key in the query too).
    kept = {k: v for k, v in request.args.items() if k not in ("page_token", style.page_size_param)}
    next_url = (f"{request.base_url}?{urlencode({**kept, 'page_token': next_token, style.page_size_param: limit})}"
                if next_token else None)
    headers = {}
    if kind == "cursor":
        body = {"data": records, "next_cursor": next_token}
    elif kind == "offset":
        body = {"results": records, "total": total}
    elif kind == "page_number":
        body = {"result": {"items": records, "page": token["o"] + 1, "total_pages": pages}}
    elif kind == "json_link":
        body = {"records": records, "links": {"next": next_url}}
    else:  # header_link: the body is the list itself
        body = records
        if next_url:
            headers["Link"] = f'<{next_url}>; rel="next"'
    return json.dumps(body, ensure_ascii=False), headers


def _lister(state: SimulatorState, entity: str, id_field: str, style: SystemStyle):
    renames = style.renames.get(entity, {})
    # Offset and page-number clients compute the next page themselves: a duplicated page is served as its
    # records twice within it (the overlap a shifting offset causes) rather than by pointing back.
    client_paged = style.paginator in ("offset", "page_number")

    def handler():
        state.requests[entity] += 1
        state.request_log[entity].append(time.monotonic())
        try:
            token, limit = _request_page(state, style)
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
            if client_paged:
                records = records + records
            else:
                next_page = page_no  # the same page once more
        if next_page >= pages:
            next_page = None
            if state.corrections.get(entity):
                records.extend(_corrected(state, entity, id_field, int(token["s"]), int(token["n"])))
        if renames:
            records = [{renames.get(k, k): v for k, v in r.items()} if isinstance(r, dict) else r for r in records]
        body, headers = _render(style, records, token, next_page, pages, len(idx), limit)
        if fault == "bad_encoding":  # a UTF-16 body labelled UTF-8: unparsable, fetched again
            return Response(b"\xff\xfe" + body.encode("utf-16-le"), 200,
                            {"Content-Type": "application/json; charset=utf-8", **headers})
        if fault == "truncate":
            body = body[: max(1, len(body) // 2)]
        else:
            state.served[entity] += len(records)
        return Response(body, 200, {"Content-Type": "application/json; charset=utf-8", **headers})

    return handler
