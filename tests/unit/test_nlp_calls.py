import pytest

from cem_pipeline.nlp.calls import call_sentiment


def test_customer_turns_weigh_more():
    turns = [("customer", -0.8), ("agent", 0.9), ("customer", -0.6), ("agent", 0.9)]
    cs = call_sentiment(turns)
    plain_mean = sum(v for _, v in turns) / len(turns)
    assert cs.score < plain_mean
    assert cs.score == pytest.approx((2 * -0.8 + 0.5 * 0.9 + 2 * -0.6 + 0.5 * 0.9) / 5.0, abs=1e-6)
    assert cs.n_turns == 4 and cs.n_customer_turns == 2


def test_improved_call():
    turns = [("customer", -0.9), ("agent", 0.2), ("customer", -0.7), ("agent", 0.5),
             ("customer", 0.1), ("agent", 0.8), ("customer", 0.8), ("customer", 0.9)]
    cs = call_sentiment(turns)
    assert cs.start_score == pytest.approx(-0.8)
    assert cs.end_score == pytest.approx(0.85)
    assert cs.improved is True and cs.delta > 1.5


def test_worsened_and_flat_calls():
    assert call_sentiment([("customer", 0.5), ("agent", 0.5), ("customer", -0.5)]).improved is False
    flat = call_sentiment([("customer", 0.1), ("customer", 0.15)])
    assert flat.improved is False  # below min_delta
    single = call_sentiment([("agent", 0.3), ("customer", -0.2)])
    assert single.start_score == single.end_score == pytest.approx(-0.2)
    assert single.improved is False


def test_no_customer_and_empty():
    cs = call_sentiment([("agent", -0.5), ("agent", 0.5)])
    assert cs.start_score == pytest.approx(-0.5) and cs.end_score == pytest.approx(0.5)
    assert cs.improved is True
    empty = call_sentiment([("customer", None)])
    assert empty.score is None and empty.improved is None and empty.n_turns == 0
