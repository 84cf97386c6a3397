"""Sentence splitting and the topic taxonomy (seed) matching rule."""

from __future__ import annotations

from cem_pipeline.nlp.topics import find_topics, load_taxonomy, split_sentences


def test_split_sentences_zh_en():
    assert split_sentences("物流很快！包装破损了。客服态度好") == ["物流很快！", "包装破损了。", "客服态度好"]
    assert split_sentences("Great price. Delivery was late!! Why?") == ["Great price.", "Delivery was late!!", "Why?"]
    assert split_sentences("It costs 3.5 dollars at example.com\nsecond line") == [
        "It costs 3.5 dollars at example.com", "second line"]
    assert split_sentences("“太好了！”他说。") == ["“太好了！”", "他说。"]
    assert split_sentences("") == [] and split_sentences(None) == [] and split_sentences("!!! 。") == []


def test_taxonomy_has_the_topics_in_both_languages():
    tax = load_taxonomy()
    topics = {k.topic for k in tax}
    assert {"delivery", "service", "price", "quality", "packaging", "returns", "app", "website", "store"} <= topics
    for topic in topics:
        langs = [k.language for k in tax if k.topic == topic]
        assert langs.count("zh") >= 3 and langs.count("en") >= 3, topic
    keys = [(k.topic, k.language, k.keyword) for k in tax]
    assert len(keys) == len(set(keys))


def test_matching_rule():
    assert set(find_topics("快递太慢了，价格还贵")) == {"delivery", "price"}
    assert set(find_topics("The APPS keep crashing")) >= {"app"}
    assert "app" not in find_topics("I am so happy with my apple")
    assert set(find_topics("Returned it for a refund; the box was crushed")) == {"returns", "packaging"}
