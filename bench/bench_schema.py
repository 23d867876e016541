"""The schema a user would keep for the shared generator's user_data, from the draft that
`mlguard data infer-schema` proposes: personal data dropped for training (as the Python
peer drops it) and age, which the draft marks as a quasi-identifier, kept as the feature it
is for the peer (dropping it costs 0.4 points of accuracy).

    python bench_schema.py DRAFT.json SCHEMA.json
"""
import json
import sys

schema = json.load(open(sys.argv[1]))
for field in schema["fields"]:
    if field.get("pii") == "quasi":
        del field["pii"]
    elif "pii" in field:
        field["protect"] = "drop"
json.dump(schema, open(sys.argv[2], "w"))
