from cem_pipeline.nlp.language import detect_language


def test_chinese():
    assert detect_language("物流很快，质量不错，下次还会买") == "zh"
    assert detect_language("iPhone 的电池不太行，屏幕很好看，总体满意") == "zh"


def test_english():
    assert detect_language("The delivery was late and the box was damaged.") == "en"
    assert detect_language("Great service!!! 10/10 :)") == "en"


def test_mixed():
    assert detect_language("这个 app is really slow 太慢了 please fix") == "mixed"


def test_other():
    assert detect_language("") == "other"
    assert detect_language("   ") == "other"
    assert detect_language("12345 !!! 😀") == "other"
    assert detect_language(None) == "other"
    assert detect_language("Доставка была быстрой и удобной") == "other"
    assert detect_language("とても良い商品でした") == "other"
    assert detect_language("배송이 빨라요 좋아요") == "other"
