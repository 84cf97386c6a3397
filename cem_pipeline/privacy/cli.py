"""``cem privacy``: erasure on request and key rotation (README "Erasure requests", "Rotating the PII key").

    cem privacy forget --phone '+86 138 0013 8000' [--email ...] [--member-id ...] [--file requests.txt]
                       [--dry-run] [--allow-shared]
    cem privacy rotate-key --old-key-file OLD_KEY_FILE      (CEM_PII_KEY set to the new key)

The work is in :mod:`cem_pipeline.privacy.erasure` and :mod:`cem_pipeline.privacy.rotation`; this module
reads the arguments and prints the report, which never holds a readable value or a token.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cem_pipeline.config import ConfigError, load_settings
from cem_pipeline.privacy.erasure import ErasureError, forget, make_request, read_requests
from cem_pipeline.privacy.keys import load_pii_key, parse_key
from cem_pipeline.privacy.rebuild import RebuildError
from cem_pipeline.privacy.rotation import RotationError, rotate_key
from cem_pipeline.privacy.tokens import Tokenizer
from cem_pipeline.warehouse import WarehouseError

FORGET_HELP = """Forget people everywhere: raw, quarantine, masked, staging, identity, marts, ML scores, alerts, the
BI file; recompute every metric without them, and drop their records from later loads. Name each person by
--member-id, --phone or --email (any format; repeat a flag for more people) or --file with one request per
line: `kind,value` (phone,138 0013 8000) or a JSON object ({"email": "a@b.com"}); # starts a comment."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cem privacy", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    forget = sub.add_parser("forget", help="erase people on request (with --dry-run: only count)",
                            description=FORGET_HELP)
    for flag in ("--member-id", "--phone", "--email"):
        forget.add_argument(flag, action="append", default=[], metavar="VALUE")
    forget.add_argument("--file", type=Path, help="a batch file of requests, one per line")
    forget.add_argument("--dry-run", action="store_true", help="list what would go, per table; change nothing")
    forget.add_argument("--allow-shared", action="store_true",
                        help="an identifier on several customers (a family phone) forgets all of them")
    rotate = sub.add_parser("rotate-key", help="re-tokenize everything under a new CEM_PII_KEY",
                            description="Set CEM_PII_KEY to the new key and give the old one once: every token "
                                        "is re-made from raw, every customer_key kept, the BI file republished.")
    old = rotate.add_mutually_exclusive_group(required=True)
    old.add_argument("--old-key-file", type=Path, help="a file holding the old key (e.g. a copy of data/.pii_key)")
    old.add_argument("--old-key", help="the old key itself (lands in your shell history: prefer --old-key-file)")
    return parser


def _requests(args) -> list:
    out = []
    for kind, values in (("member_id", args.member_id), ("phone", args.phone), ("email", args.email)):
        out += [make_request(kind, v, f"--{kind.replace('_', '-')} #{n}") for n, v in enumerate(values, 1)]
    if args.file is not None:
        out += read_requests(args.file)
    return out


def _old_key(args) -> bytes:
    if args.old_key is not None:
        return parse_key(args.old_key, "--old-key")
    try:
        text = args.old_key_file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read --old-key-file {args.old_key_file}: {exc.strerror or exc}") from None
    return parse_key(text, f"the old key in {args.old_key_file}")


def run(args) -> int:
    requests = _requests(args) if args.command == "forget" else None  # bad input fails before anything is read
    old = _old_key(args) if args.command == "rotate-key" else None
    settings = load_settings(require_sources=False)
    key, notice = load_pii_key(data_dir=settings.data_dir)
    if notice:
        print(notice, file=sys.stderr)
    if args.command == "forget":
        report = forget(settings, requests, Tokenizer(key), dry_run=args.dry_run, allow_shared=args.allow_shared)
    else:
        report = rotate_key(settings, Tokenizer(old), Tokenizer(key))
    print(report.render())
    return 0


def main(argv: list[str] | None = None) -> int:
    """Exit 0 when done; 2 with one line on stderr saying what is wrong (a request, a key, a setting, the state)."""
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return run(args)
    except (ConfigError, ErasureError, RotationError, RebuildError, WarehouseError) as exc:
        print(f"cem privacy: {exc}", file=sys.stderr)
        return 2
