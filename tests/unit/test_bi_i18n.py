"""The dashboards' two languages (bi/cem_i18n.py), checked on the code: every text a page shows goes through
``t()`` and has its Chinese, no Chinese entry is stale, and the language follows CEM_BI_LANG, then the locale.

The pages rendered in both languages are checked headless in test_bi_queries.py and in a real browser in
tests/e2e/test_bi_browser.py.
"""

from __future__ import annotations

import ast
import re
import sys

import pytest

from cem_pipeline.config import ConfigError, bi_language_setting
from tests.support import REPO

pytest.importorskip("streamlit")

BI = REPO / "bi"
SOURCES = sorted([BI / "app.py", BI / "cem_bi.py", *(BI / "views").glob("*.py")])
# Streamlit calls whose first argument is shown to the reader, and keyword arguments that are.
SHOWN_CALLS = {"title", "header", "subheader", "caption", "markdown", "write", "text", "info", "warning", "error",
               "success", "metric", "selectbox", "multiselect", "radio", "expander", "button", "tabs", "toggle"}
SHOWN_KEYWORDS = {"title", "help", "label", "placeholder"}
# The same in both languages: metric names, a priority code, the switch's own (bilingual) label.
NEUTRAL = {"NPS", "CSAT", "CES", "P1", "p", "q", "z", "Language · 语言"}


@pytest.fixture(scope="module")
def i18n():
    sys.path.insert(0, str(BI))
    try:
        import cem_i18n
    finally:
        sys.path.remove(str(BI))
    return cem_i18n


def _t_texts(tree: ast.AST, constants: dict[str, str]) -> list[str]:
    """The English texts of every ``t(...)`` call: string literals and the module's named definitions."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "t" and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.append(arg.value)
            elif isinstance(arg, ast.Name) and arg.id in constants:
                found.append(constants[arg.id])
    return found


def _vocabulary(tree: ast.Module):
    """(constant, text) for the strings of every upper-case module-level list, tuple or dict (its values) that
    are words, not colours."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                and node.targets[0].id.isupper():
            value = node.value
            items = value.values if isinstance(value, ast.Dict) else getattr(value, "elts", [])
            for item in items:
                if isinstance(item, ast.Constant) and isinstance(item.value, str) and not item.value.startswith("#"):
                    yield node.targets[0].id, item.value


def _words(value) -> bool:
    return isinstance(value, str) and re.search(r"[A-Za-z]{2}", value) is not None and value not in NEUTRAL


def _untranslated(tree: ast.AST) -> list[str]:
    """Shown strings written as a bare literal or f-string, not through t()."""
    bad = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        shown = [node.args[0]] if name in SHOWN_CALLS and node.args else []
        shown += [k.value for k in node.keywords if k.arg in SHOWN_KEYWORDS]
        for arg in shown:
            if isinstance(arg, ast.Constant) and _words(arg.value):
                bad.append(f"line {node.lineno}: {arg.value!r}")
            elif isinstance(arg, ast.JoinedStr) and any(
                    isinstance(v, ast.Constant) and _words(v.value) for v in arg.values):
                bad.append(f"line {node.lineno}: f-string {ast.unparse(arg)[:60]}")
    return bad


def test_every_shown_text_goes_through_t_and_has_its_chinese(i18n):
    constants = {name: value for name, value in vars(i18n).items() if name.endswith("_DEFINITION")}
    missing, untranslated = [], []
    for path in SOURCES:
        tree = ast.parse(path.read_text())
        missing += [f"{path.name}: {text!r}" for text in _t_texts(tree, constants) if text not in i18n.ZH]
        untranslated += [f"{path.name} {where}" for where in _untranslated(tree)]
    missing += [f"COLUMNS: {label!r}" for label in i18n.COLUMNS.values() if label not in i18n.ZH and label not in NEUTRAL]
    # The pages' vocabularies (module-level constants: segment kinds, directions, experiences...) are shown
    # through t() as well, by name: t(KINDS[kind]).
    for path in (BI / "views").glob("*.py"):
        for name, value in _vocabulary(ast.parse(path.read_text())):
            if value not in i18n.ZH and value not in NEUTRAL:
                missing.append(f"{path.name} {name}: {value!r}")
    assert not missing, "texts without a Chinese entry in bi/cem_i18n.ZH:\n" + "\n".join(missing)
    assert not untranslated, "shown texts not wrapped in t():\n" + "\n".join(untranslated)


def test_every_chinese_entry_is_used_and_keeps_its_placeholders(i18n):
    code = "\n".join(p.read_text() for p in SOURCES)
    literals = {node.value for p in SOURCES for node in ast.walk(ast.parse(p.read_text()))
                if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    used = literals | set(i18n.COLUMNS.values()) | {v for k, v in vars(i18n).items() if k.endswith("_DEFINITION")}
    stale = [k for k in i18n.ZH if k not in used]
    assert not stale, f"Chinese entries no page uses (remove them): {stale}"
    for english, chinese in i18n.ZH.items():
        assert chinese.strip() and chinese != english, english
        assert re.search(r"[\u4e00-\u9fff]", chinese) or chinese.strip() in NEUTRAL, (english, chinese)
        fields = lambda s: sorted(re.findall(r"\{(\w+)\}", s))  # noqa: E731
        assert fields(english) == fields(chinese), f"placeholders differ: {english!r} / {chinese!r}"
    assert "t(" in code


def test_the_language_setting_then_the_locale():
    assert bi_language_setting({"CEM_BI_LANG": "zh"}) == "zh"
    assert bi_language_setting({"CEM_BI_LANG": "EN", "LANG": "zh_CN.UTF-8"}) == "en"
    assert bi_language_setting({"LANG": "zh_CN.UTF-8"}) == "zh"
    assert bi_language_setting({"LC_ALL": "en_US.UTF-8", "LANG": "zh_TW.UTF-8"}) == "en"
    assert bi_language_setting({"LC_MESSAGES": "zh_CN"}) == "zh"
    assert bi_language_setting({}) == "en"
    with pytest.raises(ConfigError, match="CEM_BI_LANG='fr'.*en, zh"):
        bi_language_setting({"CEM_BI_LANG": "fr"})
