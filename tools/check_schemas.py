#!/usr/bin/env python3
"""Check the event JSON Schemas against their golden examples.

For every schema in schemas/events/ (and schemas/import-line.schema.json):
  * the schema is a valid draft 2020-12 schema and uses only the keyword subset that
    Tests/LedgerDomainTests/MiniJSONSchema.swift implements;
  * every object schema that lists properties closes itself with additionalProperties: false;
  * golden/valid/<Type>.json holds 2-4 payloads that all validate;
  * golden/invalid/<Type>.json holds 3-6 cases {data, field, why} that all fail, each with at
    least one error about `field` (an empty field means the payload object itself).

Two deliberate departures from stock `jsonschema`, both matching MiniJSONSchema.swift:
  * multipleOf is checked on the number's decimal text (repr of the float, i.e. the shortest
    text that reads back as the same double), not by float division: stock jsonschema computes
    0.07 / 0.01 = 7.000000000000001 and wrongly rejects amounts such as 0.07, 0.29 or 0.57.
  * pattern: `$` means end of input, as in ECMA-262. Python's `$` (and ICU's) also matches
    before a final newline, which would accept the id "C000123\\n".

Usage: python3 tools/check_schemas.py [--verbose]      Exit status 0 = all good, 1 = a mismatch.
Needs the `jsonschema` package (4.x).
"""

from __future__ import annotations

import json
import re
import sys
from decimal import Decimal
from pathlib import Path

from jsonschema import Draft202012Validator, ValidationError, validators

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"
GOLDEN = ROOT / "Tests" / "LedgerDomainTests" / "Fixtures" / "golden"

ALLOWED_KEYWORDS = {
    "$schema", "$id", "title", "description", "type", "properties", "required",
    "additionalProperties", "enum", "minimum", "maximum", "exclusiveMinimum", "minLength",
    "maxLength", "pattern", "minProperties", "not", "const", "multipleOf", "format",
}
VALID_COUNT = range(2, 5)
INVALID_COUNT = range(3, 7)


# MARK: - Validator with exact multipleOf and ECMA-262 `$`

def decimal_of(number) -> Decimal:
    """The decimal value a JSON number was written as (floats: their shortest repr)."""
    return Decimal(repr(number)) if isinstance(number, float) else Decimal(number)


def exact_multiple_of(validator, divisor, instance, schema):
    if not validator.is_type(instance, "number"):
        return
    if decimal_of(instance) % decimal_of(divisor) != 0:
        yield ValidationError(f"{instance!r} is not a multiple of {divisor}")


def ecma_pattern(pattern: str) -> str:
    """Rewrites every unescaped `$` outside a character class to `\\Z` (end of input only)."""
    out, escaped, in_class = [], False, False
    for ch in pattern:
        if escaped:
            out.append(ch)
            escaped = False
        elif ch == "\\":
            out.append(ch)
            escaped = True
        elif ch == "[":
            in_class = True
            out.append(ch)
        elif ch == "]":
            in_class = False
            out.append(ch)
        elif ch == "$" and not in_class:
            out.append(r"\Z")
        else:
            out.append(ch)
    return "".join(out)


def ecma_pattern_keyword(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not re.search(ecma_pattern(pattern), instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


Validator = validators.extend(
    Draft202012Validator,
    {"multipleOf": exact_multiple_of, "pattern": ecma_pattern_keyword},
)


# MARK: - Schema shape checks

def subset_problems(schema, where: str) -> list[str]:
    """Keywords outside the subset, `not` other than {"const": 0}, open objects with properties."""
    problems = []
    if not isinstance(schema, dict):
        return [f"{where}: a schema must be an object"]
    for key in schema:
        if key not in ALLOWED_KEYWORDS:
            problems.append(f"{where}: keyword {key!r} is outside the supported subset")
    if "not" in schema and schema["not"] != {"const": 0}:
        problems.append(f"{where}: `not` is only allowed as {{\"const\": 0}}")
    if "additionalProperties" in schema and schema["additionalProperties"] is not False:
        problems.append(f"{where}: additionalProperties may only be false")
    if "properties" in schema and schema.get("additionalProperties") is not False:
        problems.append(f"{where}: an object with properties needs additionalProperties: false")
    for name, sub in schema.get("properties", {}).items():
        problems += subset_problems(sub, f"{where}/properties/{name}")
    if isinstance(schema.get("not"), dict):
        problems += subset_problems(schema["not"], f"{where}/not")
    return problems


# MARK: - Golden examples

def error_mentions(error: ValidationError, field: str) -> bool:
    """Whether a validation error is about `field` ("" = the payload object itself)."""
    if field == "":
        return len(error.absolute_path) == 0 and error.validator not in ("required", "additionalProperties")
    if field in [str(p) for p in error.absolute_path]:
        return True
    if error.validator in ("required", "additionalProperties"):
        return repr(field) in error.message
    return False


def load_json(path: Path):
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def check(name: str, schema_path: Path, verbose: bool) -> list[str]:
    failures = []
    schema = load_json(schema_path)
    try:
        Draft202012Validator.check_schema(schema)
    except Exception as error:  # noqa: BLE001 - report any metaschema failure
        return [f"{name}: not a valid draft 2020-12 schema: {error}"]
    failures += [f"{name}: {p}" for p in subset_problems(schema, "#")]
    validator = Validator(schema)

    valid_path, invalid_path = GOLDEN / "valid" / f"{name}.json", GOLDEN / "invalid" / f"{name}.json"
    for path in (valid_path, invalid_path):
        if not path.exists():
            failures.append(f"{name}: missing golden file {path.relative_to(ROOT)}")
    if failures:
        return failures

    valid_cases = load_json(valid_path)
    if len(valid_cases) not in VALID_COUNT:
        failures.append(f"{name}: {len(valid_cases)} valid examples, want 2-4")
    for index, data in enumerate(valid_cases):
        errors = list(validator.iter_errors(data))
        if errors:
            failures.append(f"{name}: valid[{index}] is rejected: " + "; ".join(e.message for e in errors))
        elif verbose:
            print(f"  ok   {name} valid[{index}]")

    invalid_cases = load_json(invalid_path)
    if len(invalid_cases) not in INVALID_COUNT:
        failures.append(f"{name}: {len(invalid_cases)} invalid examples, want 3-6")
    for index, case in enumerate(invalid_cases):
        if set(case) != {"data", "field", "why"}:
            failures.append(f"{name}: invalid[{index}] must have exactly data, field, why")
            continue
        errors = list(validator.iter_errors(case["data"]))
        if not errors:
            failures.append(f"{name}: invalid[{index}] ({case['why']}) is accepted")
        elif not any(error_mentions(e, case["field"]) for e in errors):
            failures.append(
                f"{name}: invalid[{index}] ({case['why']}) fails, but not on field {case['field']!r}: "
                + "; ".join(e.message for e in errors)
            )
        elif verbose:
            print(f"  ok   {name} invalid[{index}] rejected: {case['why']}")
    return failures


def self_test() -> list[str]:
    """The two keyword overrides behave as documented."""
    amount = Validator({"type": "number", "multipleOf": 0.01})
    ident = Validator({"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"})
    problems = []
    for value in (0.07, 0.29, 0.57, 125000.07, 999999999999.99, 1000000000000, 5):
        if not amount.is_valid(value):
            problems.append(f"self-test: multipleOf 0.01 rejects {value!r}")
    for value in (10.001, 0.005, 1e-7):
        if amount.is_valid(value):
            problems.append(f"self-test: multipleOf 0.01 accepts {value!r}")
    if ident.is_valid("C000123\n"):
        problems.append("self-test: `$` matches before a trailing newline")
    return problems


def main() -> int:
    verbose = "--verbose" in sys.argv[1:]
    failures = self_test()
    targets = sorted((p.name.removesuffix(".schema.json"), p) for p in (SCHEMAS / "events").glob("*.schema.json"))
    targets.append(("import-line", SCHEMAS / "import-line.schema.json"))
    for name, path in targets:
        failures += check(name, path, verbose)

    known = {name for name, _ in targets}
    for kind in ("valid", "invalid"):
        for path in sorted((GOLDEN / kind).glob("*.json")):
            if path.stem not in known:
                failures.append(f"golden/{kind}/{path.name} has no schema")

    valid_total = sum(len(load_json(GOLDEN / "valid" / f"{n}.json")) for n, _ in targets
                      if (GOLDEN / "valid" / f"{n}.json").exists())
    invalid_total = sum(len(load_json(GOLDEN / "invalid" / f"{n}.json")) for n, _ in targets
                        if (GOLDEN / "invalid" / f"{n}.json").exists())
    if failures:
        print("\n".join(failures), file=sys.stderr)
        print(f"FAIL: {len(failures)} problem(s) in {len(targets)} schemas", file=sys.stderr)
        return 1
    print(f"OK: {len(targets)} schemas, {valid_total} valid and {invalid_total} invalid examples agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
