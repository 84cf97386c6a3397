"""The source simulator: auth, determinism, paging, incremental reads, messy identities, texts, truth."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict

import pandas as pd
import pytest
import requests

from cem_pipeline.simulator import cli
from cem_pipeline.simulator.corpus import NEG, POS
from cem_pipeline.simulator.faults import FAULT_KINDS
from cem_pipeline.simulator.truth import write_truth
from cem_pipeline.simulator.world import World
from cem_pipeline.sources.catalog import ENTITIES, entity

FULLWIDTH_BACK = str.maketrans("０１２３４５６７８９", "0123456789")


def get(sim, path, key="use-sim", **params):
    headers = {} if key is None else {"X-API-Key": sim.api_key if key == "use-sim" else key}
    return requests.get(sim.url + path, params=params, headers=headers, timeout=10)


def fetch_all(sim, path, limit=50, **params) -> tuple[list[dict], int]:
    """Every record of a collection by following cursors with plain HTTP; (records, pages)."""
    records, pages, cursor = [], 0, None
    while True:
        query = dict(params, limit=limit)
        if cursor:
            query = {"cursor": cursor, "limit": limit}
        response = get(sim, path, **query)
        assert response.status_code == 200, response.text
        body = response.json()
        records.extend(body["data"])
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            return records, pages
        assert pages < 10_000, "paging does not end"


def ts(value: str) -> int:
    return int(dt.datetime.fromisoformat(value).timestamp())


def digits(phone: str) -> str:
    d = re.sub(r"\D", "", phone.translate(FULLWIDTH_BACK))
    return d[-11:]


# ------------------------------------------------------------------ auth and admin
@pytest.mark.parametrize("key", [None, "wrong-key", ""])
def test_data_endpoints_need_the_api_key(simulator, key):
    for ent in ENTITIES:
        response = get(simulator, ent.path, key=key, limit=5)
        assert response.status_code == 401, ent.path
        assert "API key" in response.json()["error"]
    assert get(simulator, "/admin/stats", key=key).status_code == 401
    assert requests.get(simulator.url + "/health", timeout=5).json() == {"status": "ok"}
    assert get(simulator, "/v1/crm/customers", limit=5).status_code == 200


def test_fault_plan_validation(simulator):
    try:
        _check_fault_plan_validation(simulator)
    finally:
        simulator.set_faults()


def _check_fault_plan_validation(simulator):
    headers = {"X-API-Key": simulator.api_key}
    bad = requests.post(simulator.url + "/admin/faults", json={"script": ["error_500", "explode"]},
                        headers=headers, timeout=5)
    assert bad.status_code == 400 and "explode" in bad.json()["error"]
    unknown_option = requests.post(simulator.url + "/admin/faults", json={"chaos_monkey": 1},
                                   headers=headers, timeout=5)
    assert unknown_option.status_code == 400 and "chaos_monkey" in unknown_option.json()["error"]
    # A rejected plan leaves no fault behind.
    assert get(simulator, "/v1/crm/stores", limit=5).status_code == 200
    for kind in FAULT_KINDS:
        ok = requests.post(simulator.url + "/admin/faults", json={"script": [kind]}, headers=headers, timeout=5)
        assert ok.status_code == 200 and ok.json()["script"] == [kind]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": "many"}, {"cursor": "not-a-cursor"},
                                    {"updated_since": "yesterday"}, {"updated_since": "2026-10-01T00:00:00"}])
def test_bad_paging_parameters_are_400(simulator, params):
    response = get(simulator, "/v1/reviews", **params)
    assert response.status_code == 400
    assert response.json()["error"]


# ------------------------------------------------------------------ determinism and volume
def test_same_seed_serves_identical_pages_and_another_seed_differs(make_simulator):
    a, b, c = make_simulator(seed=11, customers=80), make_simulator(seed=11, customers=80), \
        make_simulator(seed=12, customers=80)
    for ent in ENTITIES:
        page_a = get(a, ent.path, limit=40)
        page_b = get(b, ent.path, limit=40)
        assert page_a.content == page_b.content, ent.name
        assert page_a.json()["data"], ent.name
    differs = [ent.name for ent in ENTITIES if get(a, ent.path, limit=40).content != get(c, ent.path, limit=40).content]
    assert len(differs) >= 6, differs


def test_volume_scales_with_customers(corpus):
    small, big = World(seed=3, customers=400, corpus=corpus), World(seed=3, customers=1600, corpus=corpus)
    for name in ("crm_customers", "crm_members", "crm_orders", "reviews", "social_posts", "calls", "surveys"):
        ratio = big.tables[name].n / small.tables[name].n
        assert 3.0 < ratio < 5.3, (name, ratio)
    total_small = sum(t.n for t in small.tables.values())
    assert total_small > 400 * 4  # several records per person across the sources
    with pytest.raises(ValueError, match="at least"):
        World(customers=5, corpus=corpus)


# ------------------------------------------------------------------ paging
@pytest.mark.parametrize("limit", [1 + 36, 1000])
def test_cursor_paging_reaches_the_end_without_gaps_or_duplicates(simulator, limit):
    for ent in ENTITIES:
        table = simulator.world.tables[ent.name]
        idx, cur, _ = table.visible_current(simulator.now)
        records, pages = fetch_all(simulator, ent.path, limit=limit)
        ids = [r[ent.id_field] for r in records]
        assert len(ids) == len(set(ids)), f"{ent.name}: duplicate ids"
        assert set(ids) == set(table.ids[idx]), f"{ent.name}: served ids differ from the visible ones"
        assert pages == max(1, -(-len(idx) // limit))
        stamps = [ts(r["updated_at"]) for r in records]
        assert stamps == sorted(stamps), f"{ent.name}: not in updated_at order"
        assert max(stamps) <= simulator.now
        # Records carry the catalogue's fields, and only those.
        assert set(records[0]) == {f.name for f in ent.fields}, ent.name


def test_cursor_pins_the_snapshot_while_the_clock_moves(make_simulator):
    sim = make_simulator(seed=5, customers=200)
    path = entity("surveys").path
    first = get(sim, path, limit=20).json()
    expected = len(sim.world.tables["surveys"].visible_current(sim.now)[0])
    sim.advance(72)
    assert len(sim.world.tables["surveys"].visible_current(sim.now)[0]) > expected
    seen, cursor = len(first["data"]), first["next_cursor"]
    while cursor:
        body = get(sim, path, cursor=cursor, limit=20).json()
        seen += len(body["data"])
        cursor = body["next_cursor"]
    assert seen == expected


def test_updated_since_is_exclusive_and_the_clock_reveals_only_newer_changes(make_simulator):
    sim = make_simulator(seed=9, customers=300)
    for ent in (entity("crm_customers"), entity("crm_orders"), entity("surveys")):
        records, _ = fetch_all(sim, ent.path, limit=100)
        mid = records[len(records) // 2]["updated_at"]
        after, _ = fetch_all(sim, ent.path, limit=100, updated_since=mid)
        assert after and all(ts(r["updated_at"]) > ts(mid) for r in after)
        assert len(after) == sum(ts(r["updated_at"]) > ts(mid) for r in records)
        # The same instant written in UTC means the same thing.
        utc = dt.datetime.fromisoformat(mid).astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
        assert len(fetch_all(sim, ent.path, limit=100, updated_since=utc)[0]) == len(after)

    watermarks = {}
    before = {}
    for ent in ENTITIES:
        records, _ = fetch_all(sim, ent.path, limit=500)
        watermarks[ent.name] = max(r["updated_at"] for r in records)
        before[ent.name] = {(r[ent.id_field], r["updated_at"]) for r in records}
    old_now = sim.now
    sim.advance(48)
    assert sim.now == old_now + 48 * 3600
    truth = sim.world.truth_records(sim.now)
    new_total = 0
    for ent in ENTITIES:
        newer, _ = fetch_all(sim, ent.path, limit=500, updated_since=watermarks[ent.name])
        got = {(r[ent.id_field], ts(r["updated_at"])) for r in newer}
        t = truth[(truth.entity == ent.name) & (truth.updated_at > ts(watermarks[ent.name]))]
        assert got == set(zip(t.record_id, t.updated_at)), ent.name
        assert all(old_now < ts(r["updated_at"]) <= sim.now for r in newer), ent.name
        assert not {(r[ent.id_field], r["updated_at"]) for r in newer} & before[ent.name]
        new_total += len(newer)
    assert new_total > 0
    # Some of the new changes are updates (v2) of records that were already visible.
    updated = {r["order_id"] for r in fetch_all(sim, "/v1/crm/orders", limit=500,
                                                  updated_since=watermarks["crm_orders"])[0]}
    assert updated & {rid for rid, _ in before["crm_orders"]}


# ------------------------------------------------------------------ messy identities
@pytest.fixture(scope="module")
def crm(simulator):
    customers, _ = fetch_all(simulator, "/v1/crm/customers", limit=1000)
    truth = simulator.world.truth_records(simulator.now)
    person = dict(zip(truth.record_id, truth.person_id))
    return customers, person, truth


def test_one_person_behind_differently_formatted_phones(crm, simulator):
    customers, person, _ = crm
    by_person = defaultdict(set)
    for c in customers:
        if c["phone"]:
            by_person[person[c["customer_id"]]].add(c["phone"])
    multi = {p: forms for p, forms in by_person.items() if len(forms) > 1}
    assert multi, "no person with two CRM records in different phone formats"
    for forms in multi.values():
        assert len({digits(f) for f in forms}) == 1
    # Calls carry the caller's phone in yet other formats; they resolve to the same number.
    calls, _ = fetch_all(simulator, "/v1/calls", limit=1000)
    truth = simulator.world.truth_records(simulator.now)
    call_person = dict(zip(truth.record_id, truth.person_id))
    shown = [c for c in calls if c["caller_phone"]]
    assert shown
    for c in shown:
        assert digits(c["caller_phone"]) == str(simulator.world.phone[call_person[c["call_id"]]])
    assert any(not re.fullmatch(r"1\d{10}", c["caller_phone"]) for c in shown)


def test_upper_case_email_shared_family_phone_and_no_contact(crm, simulator):
    customers, person, _ = crm
    world = simulator.world
    emails = [c["email"] for c in customers if c["email"]]
    assert any(e == e.upper() and "@" in e for e in emails), "no upper-case e-mail"
    # A family: two different people behind one phone number.
    people_by_number = defaultdict(set)
    for c in customers:
        if c["phone"]:
            people_by_number[digits(c["phone"])].add(person[c["customer_id"]])
    assert any(len(p) > 1 for p in people_by_number.values()), "no shared family phone"
    # Customers with no contact at all.
    no_contact = [c for c in customers if not c["phone"] and not c["email"]]
    assert no_contact
    assert all(not world.has_phone[person[c["customer_id"]]] and not world.has_email[person[c["customer_id"]]]
               for c in no_contact)


def test_anonymous_social_posts(simulator):
    posts, _ = fetch_all(simulator, "/v1/social/posts", limit=1000)
    truth = simulator.world.truth_records(simulator.now)
    person = dict(zip(truth.record_id, truth.person_id))
    anonymous = [p for p in posts if person[p["post_id"]] == -1]
    known = [p for p in posts if person[p["post_id"]] >= 0]
    assert anonymous and known
    assert all(re.fullmatch(r"@user\d{7}", p["handle"]) for p in anonymous)
    assert all(p["handle"] == simulator.world.handle(person[p["post_id"]]) for p in known)


# ------------------------------------------------------------------ texts and labels
def _label_index(pools):
    index = defaultdict(set)
    for pool in pools.values():
        for text, label in zip(pool.texts, pool.labels):
            index[text].add(label)
    return index


def test_texts_come_from_the_labelled_corpus(simulator):
    world = simulator.world
    truth = world.truth_records(simulator.now).set_index("record_id")
    for path, id_field, text_field, pools in (
        ("/v1/social/posts", "post_id", "text", world.corpus.social),
        ("/v1/reviews", "review_id", "text", world.corpus.reviews),
    ):
        index = _label_index(pools)
        records, _ = fetch_all(simulator, path, limit=1000)
        exact = [r for r in records if r[text_field] in index]
        # Reviews may carry an appended follow-up or a planted phone/e-mail; the rest are verbatim.
        assert len(exact) >= 0.85 * len(records), path
        for r in exact:
            label = truth.loc[r[id_field], "label"]
            assert label in index[r[text_field]], (r[id_field], label)
            assert r["lang"] == truth.loc[r[id_field], "lang"]
        labels = Counter(truth.loc[[r[id_field] for r in records], "label"])
        assert labels[POS] and labels[NEG], labels
    calls, _ = fetch_all(simulator, "/v1/calls", limit=1000)
    dialogue_turns = {t["text"] for lang in ("zh", "en") for d in world.corpus.dialogues[lang] for t in d.turns}
    agent_turns = [t for c in calls for t in c["turns"] if t["speaker"] == "agent"]
    assert agent_turns and all(t["text"] in dialogue_turns for t in agent_turns)


def test_survey_scores_agree_with_their_comment_labels(simulator):
    world = simulator.world
    truth = world.truth_records(simulator.now).set_index("record_id")
    responses, _ = fetch_all(simulator, "/v1/surveys/responses", limit=1000)
    index = _label_index(world.corpus.survey_comments)
    by = defaultdict(list)
    for r in responses:
        label = truth.loc[r["response_id"], "label"]
        if r["comment"] is None:
            assert pd.isna(label)
            continue
        assert label in index[r["comment"]]
        by[(r["survey_type"], label)].append(r["score"])
    # NPS answers follow the planted experiences their comments mention (simulator/experience.py): on
    # average a negative comment comes with a clearly lower likelihood to recommend than a positive one.
    pos, neg = by[("nps", POS)], by[("nps", NEG)]
    assert len(pos) >= 10 and len(neg) >= 3, (len(pos), len(neg))
    assert sum(pos) / len(pos) >= sum(neg) / len(neg) + 1.5
    csat_pos, csat_neg = by[("csat", POS)], by[("csat", NEG)]
    assert csat_pos and all(s >= 4 for s in csat_pos)
    if csat_neg:
        assert sum(s <= 3 for s in csat_neg) >= 0.9 * len(csat_neg)
    ranges = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
    assert all(ranges[r["survey_type"]][0] <= r["score"] <= ranges[r["survey_type"]][1] for r in responses)


# ------------------------------------------------------------------ ground truth
TRUTH_FILES = ["customer_outcomes.parquet", "drivers.parquet", "drops.parquet", "metrics.parquet", "outcomes.parquet",
               "planted_pii.parquet", "records.parquet", "surveys.parquet"]


def test_write_truth_writes_the_parquet_files(simulator, tmp_path):
    written = write_truth(simulator.world, tmp_path / "truth", simulator.now)
    assert sorted(os.path.basename(p) for p in written) == TRUTH_FILES
    records = pd.read_parquet(tmp_path / "truth" / "records.parquet")
    visible = sum(len(t.visible_current(simulator.now)[0]) for t in simulator.world.tables.values())
    assert len(records) == visible
    assert set(records.entity) == {e.name for e in ENTITIES}
    assert {"record_id", "person_id", "label", "lang", "updated_at"} <= set(records.columns)
    metrics = pd.read_parquet(tmp_path / "truth" / "metrics.parquet")
    assert set(metrics.survey_type) == {"nps", "csat", "ces"}
    surveys_visible = (records.entity == "surveys").sum()
    assert metrics.n.sum() == surveys_visible
    nps = metrics[metrics.survey_type == "nps"]
    assert ((nps.value >= -100) & (nps.value <= 100)).all()
    pii = pd.read_parquet(tmp_path / "truth" / "planted_pii.parquet")
    assert {"phone", "email", "name"} <= set(pii.kind)
    # The same over the admin endpoint.
    over_http = simulator.write_truth(tmp_path / "again")
    assert len(over_http) == len(TRUTH_FILES)
    drivers = pd.read_parquet(tmp_path / "truth" / "drivers.parquet")
    assert (drivers.effect_points == 0).sum() >= 2 and drivers["rank"].notna().sum() >= 5
    drops = pd.read_parquet(tmp_path / "truth" / "drops.parquet")
    assert len(drops) == len(simulator.world.drops) and (drops.true_nps_drop.dropna() > 0).all()  # NaN: no responses
    surveys = pd.read_parquet(tmp_path / "truth" / "surveys.parquet")
    assert len(surveys) == surveys_visible and surveys.experience.notna().any()
    effects = pd.read_parquet(tmp_path / "truth" / "outcomes.parquet").set_index(["factor", "level"])["value"]
    assert effects["group_rate", "promoter"] > effects["group_rate", "passive"] > effects["group_rate", "detractor"]
    outcomes = pd.read_parquet(tmp_path / "truth" / "customer_outcomes.parquet")
    assert set(outcomes.horizon_days) <= {30, 90} and outcomes.p_repurchase.between(0, 1).all()
    assert pd.read_parquet(tmp_path / "again" / "records.parquet").equals(records)


def test_cli_writes_truth_and_serves(tmp_path):
    truth_dir = tmp_path / "truth"
    proc = subprocess.Popen(
        [sys.executable, "-m", "cem_pipeline.simulator.cli", "--seed", "3", "--customers", "40", "--port", "0",
         "--api-key", "k-123", "--truth", str(truth_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url, lines, deadline = None, [], time.monotonic() + 30
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            match = re.search(r"simulator on (http://\S+)", line)
            url = match.group(1) if match else None
        assert url, "".join(lines)
        assert sum(line.startswith("truth: ") for line in lines) == len(TRUTH_FILES)
        assert sorted(p.name for p in truth_dir.iterdir()) == TRUTH_FILES
        assert requests.get(url + "/v1/crm/stores", headers={"X-API-Key": "k-123"}, timeout=5).status_code == 200
        assert requests.get(url + "/v1/crm/stores", headers={"X-API-Key": "demo-key"}, timeout=5).status_code == 401
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_cli_rejects_bad_arguments(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--customers", "lots"])
    assert exc.value.code == 2
    assert "--customers" in capsys.readouterr().err


def test_scripted_page_faults_change_exactly_one_page(make_simulator):
    sim = make_simulator(seed=4, customers=60)
    path, limit = "/v1/crm/customers", 10
    clean = get(sim, path, limit=limit).json()["data"]
    sim.set_faults(script=["out_of_order", "unknown_field", "malformed"])
    assert get(sim, path, limit=limit).json()["data"] == clean[::-1]
    assert all(r.pop("loyalty_segment_v2") == "new-field" for r in get(sim, path, limit=limit).json()["data"])
    broken = get(sim, path, limit=limit).json()["data"]
    assert broken[1:] == clean[1:] and broken[0] != clean[0]
    assert get(sim, path, limit=limit).json()["data"] == clean  # the script is used up
    sim.set_faults(script=["error_503", "rate_limit"], retry_after_s=7)
    assert get(sim, path, limit=limit).status_code == 503
    limited = get(sim, path, limit=limit)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
    sim.set_faults(script=["duplicate_page"])
    first = get(sim, path, limit=limit).json()
    again = get(sim, path, cursor=first["next_cursor"], limit=limit).json()
    assert again["data"] == first["data"] == clean
    sim.set_faults(script=["truncate"])
    cut = get(sim, path, limit=limit)
    assert cut.status_code == 200
    with pytest.raises(ValueError):
        cut.json()
