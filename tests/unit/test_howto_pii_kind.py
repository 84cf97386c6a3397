"""The README's "Add a PII kind", taken literally: a copy of the package gets exactly the edits the checklist
names (a redaction rule and a mask, one registry entry, one catalogue field) and the privacy gate then
tokenizes, masks and redacts the new kind, with no other file touched."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from tests.support import REPO

EMPLOYEE_NO = "EMP123456"  # a kind the shipped registry does not have

# 1. redact.py: the rule that finds the kind in free text.
REDACT_RULE = '''

_EMPLOYEE_NO = re.compile(r"(?<![A-Za-z0-9])EMP\\d{6}(?![A-Za-z0-9])")


def find_employee_numbers(text: str, hit: Hit) -> str:
    return _EMPLOYEE_NO.sub(lambda m: hit(), text)
'''
# 2. masks.py: its display form.
MASK = '''

def mask_employee_no(value) -> str | None:
    text = _text(value)
    return text[0] + "*" * (len(text) - 3) + text[-2:] if text else None
'''
# 3. kinds.py: the registry entry (before the phone rule, like the other number kinds).
ENTRY = ('    PiiKind(PHONE, norm.normalize_phone,',
         '    PiiKind("employee_no", norm.normalize_digits, masks.mask_employee_no, placeholder="[EMPLOYEE_NO]",\n'
         '            redact=redact.find_employee_numbers),\n    PiiKind(PHONE, norm.normalize_phone,')
# 4. catalog.py: a field of that kind on a source.
FIELD = ('            _f("city", "string"),\n', '            _f("city", "string"),\n'
         '            _f("employee_no", "string", pii="employee_no"),\n')

CHECK = f'''
import json
from cem_pipeline.privacy import Tokenizer, mask_record, redact_text
from cem_pipeline.privacy.records import output_columns
record = {{"customer_id": "C1", "employee_no": "{EMPLOYEE_NO}", "city": "上海", "phone": "13800138000"}}
masked = mask_record("crm_customers", record, Tokenizer("k" * 32))
print(json.dumps({{"masked": masked, "text": redact_text("工号 {EMPLOYEE_NO}，电话 13800138000").text,
                  "columns": output_columns("crm_customers")}}, ensure_ascii=False))
'''


def _edit(path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"the how-to's anchor {old!r} is not once in {path}: update this test and the README"
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_a_registry_entry_and_a_catalogue_field_give_a_new_pii_kind(tmp_path):
    package = tmp_path / "cem_pipeline"
    shutil.copytree(REPO / "cem_pipeline", package, ignore=shutil.ignore_patterns("sample_corpus", "__pycache__"))
    (package / "privacy" / "redact.py").write_text((package / "privacy" / "redact.py").read_text() + REDACT_RULE)
    (package / "privacy" / "masks.py").write_text((package / "privacy" / "masks.py").read_text() + MASK)
    _edit(package / "privacy" / "kinds.py", *ENTRY)
    _edit(package / "sources" / "catalog.py", *FIELD)
    done = subprocess.run([sys.executable, "-c", CHECK], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout)
    masked = out["masked"]
    assert masked["employee_no"] == "E******56" and masked["employee_no_token"].startswith("employee_no:")
    assert EMPLOYEE_NO not in json.dumps(masked)
    assert out["text"] == "工号 [EMPLOYEE_NO]，电话 [PHONE]"
    assert "employee_no_token" in out["columns"]
    # the shipped package itself knows no such kind: the copy's edits did it
    shipped = subprocess.run([sys.executable, "-c", "from cem_pipeline.privacy import kinds; print(kinds.KINDS)"],
                             cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert "employee_no" not in shipped
