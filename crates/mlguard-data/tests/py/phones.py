"""Phone numbers and the reference libphonenumber's verdict on each (the `phonenumbers`
package, Google's metadata in Python).

    python phones.py SEED N     # prints REGION<TAB>TEXT<TAB>0|1

For every region libphonenumber knows: its example numbers of every type written in the
international and national formats, the same with one digit changed, a digit added or
removed, and random digit strings of the region's lengths.
"""
import random
import sys

import phonenumbers as pn
from phonenumbers import PhoneNumberFormat as F, PhoneNumberType as T

rng = random.Random(int(sys.argv[1]))
N = int(sys.argv[2])
TYPES = [T.FIXED_LINE, T.MOBILE, T.TOLL_FREE, T.VOIP, T.FIXED_LINE_OR_MOBILE]
rows = []
regions = sorted(pn.SUPPORTED_REGIONS)
for region in regions:
    for t in TYPES:
        ex = pn.example_number_for_type(region, t)
        if ex is None:
            continue
        for fmt in (F.INTERNATIONAL, F.NATIONAL, F.E164):
            rows.append((region, pn.format_number(ex, fmt)))
while len(rows) < N:
    region, text = rng.choice(rows[: len(rows)])
    pos = [i for i, c in enumerate(text) if c.isdigit()]
    i = rng.choice(pos)
    k = rng.randrange(3)
    if k == 0:
        text = text[:i] + str(rng.randrange(10)) + text[i + 1:]
    elif k == 1:
        text = text[:i] + str(rng.randrange(10)) + text[i:]
    else:
        text = text[:i] + text[i + 1:]
    rows.append((region, text))
for region, text in rows[:N]:
    try:
        ok = pn.is_valid_number(pn.parse(text, region))
    except pn.NumberParseException:
        ok = False
    print(f"{region}\t{text}\t{int(ok)}")
