#!/usr/bin/env python3
"""The peer for bench/validate.sh: pandas.read_csv + pandera, and the matching mlguard schema.

One table of rules (RULES) drives both sides, so they check the same things:
  python3 validate_peer.py schema OUT.json   writes the mlguard Table Schema
  python3 validate_peer.py validate FILE.csv reads FILE.csv with pandas and validates it with
                                             pandera (lazy: every failure collected); exit 1
                                             when invalid
"""
import json
import sys

EMAIL = r"[^@\s]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+"
FORMULA = r"[=+\-@\t\r]"
INT, NUM, STR, DATE = "integer", "number", "string", "date"
# name: (type, extra) with extra keys: min, max, pattern, enum, email, unique
RULES = {
    "user_id": (INT, {"min": 1, "unique": True}),
    "full_name": (STR, {"text": True}),
    "email": (STR, {"email": True}),
    "phone": (STR, {"pattern": r"\+1-\d{3}-\d{3}-\d{4}"}),
    "ssn": (STR, {"pattern": r"\d{3}-\d{2}-\d{4}"}),
    "date_of_birth": (DATE, {}),
    "zip_code": (STR, {"pattern": r"\d{5}"}),
    "age": (INT, {"min": 17, "max": 85}),
    "income": (NUM, {"min": 0, "max": 1e7}),
    "credit_score": (INT, {"min": 300, "max": 850}),
    "account_age_days": (INT, {"min": 1, "max": 4000}),
    "tenure_months": (INT, {"min": 0, "max": 200}),
    "logins_30d": (INT, {"min": 0, "max": 500}),
    "sessions_30d": (INT, {"min": 0, "max": 1000}),
    "page_views_30d": (INT, {"min": 0, "max": 10000}),
    "avg_session_min": (NUM, {"min": 0, "max": 600}),
    "purchases_90d": (INT, {"min": 0, "max": 1000}),
    "avg_order_value": (NUM, {"min": 0, "max": 1e6}),
    "cart_abandon_rate": (NUM, {"min": 0, "max": 1}),
    "support_tickets_90d": (INT, {"min": 0, "max": 1000}),
    "days_since_last_login": (INT, {"min": 0, "max": 365}),
    "email_open_rate": (NUM, {"min": 0, "max": 1}),
    "click_rate": (NUM, {"min": 0, "max": 1}),
    "refund_count": (INT, {"min": 0, "max": 1000}),
    "device_count": (INT, {"min": 1, "max": 100}),
    "num_addresses": (INT, {"min": 1, "max": 100}),
    "risk_score": (NUM, {"min": 0, "max": 100}),
    "region": (STR, {"enum": ["north", "south", "east", "west", "central"]}),
    "plan": (STR, {"enum": ["free", "basic", "pro", "enterprise"]}),
    "label": (INT, {"enum": [0, 1]}),
}
PII = {"full_name": "name", "email": "email", "phone": "phone", "ssn": "ssn",
       "date_of_birth": "date_of_birth", "zip_code": "postal_code"}


def mlguard_schema():
    fields = []
    for name, (typ, x) in RULES.items():
        c = {"required": True}
        if "min" in x:
            c["minimum"] = x["min"]
        if "max" in x:
            c["maximum"] = x["max"]
        if "pattern" in x:
            c["pattern"] = x["pattern"]
        if "enum" in x:
            c["enum"] = x["enum"]
        f = {"name": name, "type": typ, "constraints": c}
        if x.get("email"):
            f["format"] = "email"
        if name in PII:
            f["pii"] = PII[name]
        fields.append(f)
    return {"fields": fields, "primaryKey": "user_id"}


def validate(path):
    import pandas as pd
    try:
        import pandera.pandas as pa
    except ImportError:  # pandera < 0.24
        import pandera as pa
    from pandera import Check

    cols = {}
    dtypes = {}
    for name, (typ, x) in RULES.items():
        checks = []
        if "min" in x:
            checks.append(Check.ge(x["min"]))
        if "max" in x:
            checks.append(Check.le(x["max"]))
        if "enum" in x:
            checks.append(Check.isin(x["enum"]))
        if "pattern" in x:
            checks.append(Check.str_matches("^(?:" + x["pattern"] + ")$"))
        if x.get("email"):
            checks.append(Check.str_matches("^(?:" + EMAIL + ")$"))
        if x.get("text"):  # what mlguard's formula-injection check does for free text
            checks.append(Check(lambda s: ~s.str.match(FORMULA), name="no_formula"))
        if typ == DATE:
            checks.append(Check(lambda s: pd.to_datetime(s, format="%Y-%m-%d", errors="coerce").notna(), name="iso_date"))
        dtype = {INT: "int64", NUM: "float64", STR: str, DATE: str}[typ]
        if typ in (STR, DATE):
            dtypes[name] = str
        cols[name] = pa.Column(dtype, checks, nullable=False, unique=bool(x.get("unique")))
    schema = pa.DataFrameSchema(cols, strict=True, ordered=True)
    df = pd.read_csv(path, dtype=dtypes, keep_default_na=False, na_values=[""])
    try:
        schema.validate(df, lazy=True)
    except pa.errors.SchemaErrors as e:
        print(f"invalid: {len(e.failure_cases)} failure cases", file=sys.stderr)
        return 1
    print(f"valid: {len(df)} rows", file=sys.stderr)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("schema", "validate"):
        sys.exit(__doc__)
    if sys.argv[1] == "schema":
        with open(sys.argv[2], "w") as f:
            json.dump(mlguard_schema(), f, indent=2)
    else:
        sys.exit(validate(sys.argv[2]))
