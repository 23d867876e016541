"""Labelled cells for the PII benchmark, and the scorer.

    python3 pii_corpus.py generate OUT_DIR N      # OUT_DIR/cells.csv + OUT_DIR/labels.jsonl
    python3 pii_corpus.py presidio OUT_DIR        # OUT_DIR/presidio.jsonl (+ cells/s on stderr)
    python3 pii_corpus.py score OUT_DIR TOOL SPANS.jsonl

cells.csv has one column with an unhelpful header ("value"): detection must work from the
values. Each cell is one labelled case (Faker en_US / en_GB / de_DE values, alone or in a
sentence) or a look-alike labelled with no kind (order numbers, 16-digit numbers failing
Luhn, version strings, timestamps, amounts, ISBNs, ordinary capitalised phrases).
Scoring is per cell and kind: a kind found in a cell labelled with it is a true positive.
"""
import csv
import json
import os
import random
import sys
import time

KINDS = ["EMAIL", "PHONE", "US_SSN", "CREDIT_CARD", "IBAN", "IP_ADDRESS", "DATE_OF_BIRTH",
         "PERSON", "STREET_ADDRESS", "POSTAL_CODE"]


def luhn_ok(digits):
    total = 0
    for i, d in enumerate(reversed(digits)):
        v = int(d)
        if i % 2 == 1:
            v *= 2
            if v > 9:
                v -= 9
        total += v
    return total % 10 == 0


def isbn13(rng):
    body = "978" + "".join(str(rng.randrange(10)) for _ in range(9))
    s = sum(int(c) * (1 if i % 2 == 0 else 3) for i, c in enumerate(body))
    check = (10 - s % 10) % 10
    full = body + str(check)
    return f"{full[:3]}-{full[3]}-{full[4:6]}-{full[6:12]}-{full[12]}"


def generate(out, n):
    from faker import Faker
    seed = int(os.environ.get("PII_SEED", "7"))
    rng = random.Random(seed)
    fakers = {loc: Faker(loc) for loc in ("en_US", "en_GB", "de_DE")}
    for i, f in enumerate(fakers.values()):
        f.seed_instance(seed * 10 + i)
    us, gb, de = fakers["en_US"], fakers["en_GB"], fakers["de_DE"]

    def dob_text():
        d = rng.choice([us, gb]).date_of_birth(minimum_age=18, maximum_age=90)
        fmt = rng.choice(["%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d %B %Y", "%B %d, %Y", "%d.%m.%Y"])
        lead = rng.choice(["Born on", "born", "DOB:", "Date of birth:", "birthday"])
        return f"{lead} {d.strftime(fmt)}"

    def us_postal():
        return f"{us.city()}, {us.state_abbr()} {us.zipcode()}"

    positives = [
        ("EMAIL", lambda: rng.choice([us, gb]).email()),
        ("EMAIL", lambda: f"Contact {rng.choice([us, gb]).free_email()} for details"),
        ("PHONE", lambda: us.phone_number()),
        ("PHONE", lambda: gb.phone_number()),
        ("PHONE", lambda: f"Call me on {rng.choice([us, gb]).phone_number()} tomorrow"),
        ("US_SSN", lambda: us.ssn()),
        ("US_SSN", lambda: f"SSN {us.ssn()} on file"),
        ("CREDIT_CARD", lambda: us.credit_card_number()),
        ("CREDIT_CARD", lambda: f"paid with card {us.credit_card_number()}"),
        ("IBAN", lambda: gb.iban()),
        ("IBAN", lambda: f"IBAN {de.iban()}"),
        ("IP_ADDRESS", lambda: us.ipv4()),
        ("IP_ADDRESS", lambda: f"login from {us.ipv6()}"),
        ("DATE_OF_BIRTH", dob_text),
        ("PERSON", lambda: rng.choice([us, gb]).name()),
        ("PERSON", lambda: f"Patient {rng.choice([us, gb]).name()} was seen today"),
        ("STREET_ADDRESS", lambda: us.street_address()),
        ("STREET_ADDRESS", lambda: gb.street_address()),
        ("POSTAL_CODE", lambda: gb.postcode()),
        ("POSTAL_CODE", us_postal),
    ]

    def lookalike():
        k = rng.randrange(8)
        if k == 0:
            return f"ORD-{rng.randrange(2019, 2026)}-{rng.randrange(10**6):06d}"
        if k == 1:
            while True:
                digits = "".join(str(rng.randrange(10)) for _ in range(16))
                if not luhn_ok(digits):
                    return digits
        if k == 2:
            return f"version {rng.randrange(1, 20)}.{rng.randrange(10)}.{rng.randrange(10)}.{rng.randrange(100)}"
        if k == 3:
            return us.date_time_this_decade().strftime("%Y-%m-%dT%H:%M:%SZ")
        if k == 4:
            return f"${rng.randrange(1, 10**6):,}.{rng.randrange(100):02d}"
        if k == 5:
            return isbn13(rng)
        if k == 6:
            return rng.choice(["Random Forest Classifier", "Grand Canyon National Park",
                               "Quarterly Revenue Report", "Gradient Boosting Machine",
                               "Customer Support Ticket", "Annual General Meeting"])
        return f"event on {us.date_this_decade().isoformat()}"

    os.makedirs(out, exist_ok=True)
    with open(f"{out}/cells.csv", "w", newline="") as fc, open(f"{out}/labels.jsonl", "w") as fl:
        w = csv.writer(fc)
        w.writerow(["value"])
        for row in range(1, n + 1):
            if rng.random() < 0.25:
                text, kinds = lookalike(), []
            else:
                kind, make = rng.choice(positives)
                text, kinds = make(), [kind]
                # A US address line ends in a ZIP: both kinds are in it.
                if kind == "POSTAL_CODE" and "," in text:
                    kinds = ["POSTAL_CODE"]
            text = text.replace("\n", " ")
            w.writerow([text])
            fl.write(json.dumps({"row": row, "kinds": kinds}) + "\n")


PRESIDIO = {"EMAIL_ADDRESS": "EMAIL", "PHONE_NUMBER": "PHONE", "US_SSN": "US_SSN",
            "CREDIT_CARD": "CREDIT_CARD", "IBAN_CODE": "IBAN", "IP_ADDRESS": "IP_ADDRESS",
            "DATE_TIME": "DATE_OF_BIRTH"}


def presidio(out):
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer, DateRecognizer, EmailRecognizer, IbanRecognizer, IpRecognizer,
        PhoneRecognizer, UsSsnRecognizer)
    recognizers = [EmailRecognizer(), PhoneRecognizer(), UsSsnRecognizer(), CreditCardRecognizer(),
                   IbanRecognizer(), IpRecognizer(), DateRecognizer()]
    with open(f"{out}/cells.csv", newline="") as f:
        cells = [r[0] for r in list(csv.reader(f))[1:]]
    start = time.perf_counter()
    with open(f"{out}/presidio.jsonl", "w") as fo:
        for row, text in enumerate(cells, 1):
            for r in recognizers:
                for res in r.analyze(text=text, entities=r.supported_entities, nlp_artifacts=None) or []:
                    kind = PRESIDIO.get(res.entity_type)
                    if kind:
                        fo.write(json.dumps({"row": row, "kind": kind, "score": res.score}) + "\n")
    secs = time.perf_counter() - start
    print(f"presidio: {len(cells)} cells in {secs:.2f} s = {len(cells) / secs:,.0f} cells/s", file=sys.stderr)


def score(out, tool, spans_path):
    labels = {}
    with open(f"{out}/labels.jsonl") as f:
        for line in f:
            d = json.loads(line)
            labels[d["row"]] = set(d["kinds"])
    found = {}
    with open(spans_path) as f:
        for line in f:
            d = json.loads(line)
            found.setdefault(d["row"], set()).add(d["kind"])
    print(f"{tool}:")
    print(f"  {'kind':15} {'cases':>6} {'precision':>9} {'recall':>7} {'F1':>6}")
    for kind in KINDS:
        tp = sum(1 for r, ks in labels.items() if kind in ks and kind in found.get(r, ()))
        fn = sum(1 for r, ks in labels.items() if kind in ks and kind not in found.get(r, ()))
        fp = sum(1 for r, ks in found.items() if kind in ks and kind not in labels.get(r, ()))
        if tp + fn + fp == 0:
            continue
        p = tp / (tp + fp) if tp + fp else 0.0
        rcl = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * p * rcl / (p + rcl) if p + rcl else 0.0
        print(f"  {kind:15} {tp + fn:6d} {p:9.3f} {rcl:7.3f} {f1:6.3f}")


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "generate":
        generate(sys.argv[2], int(sys.argv[3]))
    elif cmd == "presidio":
        presidio(sys.argv[2])
    else:
        score(sys.argv[2], sys.argv[3], sys.argv[4])
