"""Candidates for the national-identifier checks and python-stdnum's verdict on each.

    python national_ids.py SEED N     # prints KIND<TAB>VALUE<TAB>0|1, N lines per kind

Half the candidates are built valid (check digits computed by stdnum), half are random
values of the same shape or valid ones with one character changed. The verdict is
stdnum's, plus the published rules mlguard also applies and stdnum leaves out: a NIR's sex
digit (1-4, 7, 8) and month (01-12, 20-42, 50-99); a PESEL born from 1900 to today; and
Swedish coordination numbers (the day + 60), which stdnum does not know.
"""
import datetime
import random
import string
import sys

from stdnum.de import idnr
from stdnum.es import dni, nie
from stdnum.fr import nir
from stdnum.it import codicefiscale
from stdnum.nl import bsn
from stdnum.pl import pesel
from stdnum.se import personnummer
from stdnum.iso7064 import mod_11_10
from stdnum import luhn

rng = random.Random(int(sys.argv[1]))
N = int(sys.argv[2])
D = string.digits


def digits(n):
    return "".join(rng.choice(D) for _ in range(n))


def mutate(v):
    i = rng.randrange(len(v))
    pool = D if v[i].isdigit() else string.ascii_uppercase
    return v[:i] + rng.choice(pool) + v[i + 1:]


def nir_make():
    body = rng.choice("1234785") + digits(2) + rng.choice(["%02d" % rng.randrange(1, 13), "%02d" % rng.randrange(0, 100)])
    body += rng.choice(["2A", "2B", digits(2)]) + digits(6)
    return body + nir.calc_check_digits(body + "00")


def nir_ok(v):
    return nir.is_valid(v) and v[0] in "123478" and (1 <= int(v[3:5]) <= 12 or 20 <= int(v[3:5]) <= 42 or int(v[3:5]) >= 50)


def idnr_make():
    while True:
        body = rng.choice("123456789") + digits(9)
        if rng.random() < 0.7:
            s = list(rng.sample(D, 9))
            s.append(rng.choice(s))
            rng.shuffle(s)
            body = "".join(s)
        if body[0] != "0":
            return body + mod_11_10.calc_check_digit(body)


def dni_make():
    if rng.random() < 0.5:
        b = digits(8)
        return b + dni.calc_check_digit(b)
    b = rng.choice("XYZ") + digits(7)
    return b + nie.calc_check_digit(b)


def cf_make():
    L = string.ascii_uppercase
    dd = "LMNPQRSTUV"
    d = lambda: rng.choice(D) if rng.random() < 0.9 else rng.choice(dd)
    day = rng.randrange(1, 32) + rng.choice([0, 40])
    body = "".join(rng.choice(L) for _ in range(6)) + d() + d() + rng.choice("ABCDEHLMPRST")
    body += "%02d" % day + rng.choice(L) + d() + d() + d()
    return body + codicefiscale.calc_check_digit(body)


def bsn_make():
    while True:
        b = digits(8)
        s = sum((9 - i) * int(c) for i, c in enumerate(b)) % 11
        if s < 10:
            return b + str(s)


def pnr_make():
    d = datetime.date(1900, 1, 1) + datetime.timedelta(days=rng.randrange(45000))
    day = d.day + (60 if rng.random() < 0.1 else 0)
    ten = d.strftime("%y%m") + "%02d" % day + digits(3)
    ten += luhn.calc_check_digit(ten)
    if rng.random() < 0.5:
        return d.strftime("%Y")[:2] + ten[:6] + "-" + ten[6:]
    return ten[:6] + "-" + ten[6:]


def pnr_ok(v):
    # A samordningsnummer (coordination number) is a personnummer with 60 added to the
    # day (and the Luhn digit is computed over the number as written); stdnum knows only
    # personnummer.
    day = int(v[-7:-5])
    if day <= 60:
        return personnummer.is_valid(v)
    as_pnr = v[:-7] + "%02d" % (day - 60) + v[-5:]
    # The date is real when some check digit makes a valid personnummer of it.
    if not any(personnummer.is_valid(as_pnr[:-1] + c) for c in "0123456789"):
        return False
    return luhn.is_valid((v[:-5] + v[-4:])[-10:])


def pesel_make():
    d = datetime.date(1900, 1, 1) + datetime.timedelta(days=rng.randrange(46000))
    mm = d.month + (20 if d.year >= 2000 else 0)
    b = "%02d%02d%02d" % (d.year % 100, mm, d.day) + digits(4)
    return b + pesel.calc_check_digit(b)


def pesel_ok(v):
    if not pesel.is_valid(v):
        return False
    born = pesel.get_birth_date(v)
    return 1900 <= born.year and born <= datetime.date.today()


def shaped(kind):
    return {
        "FR_NIR": lambda: rng.choice("12345678") + digits(14),
        "DE_TAX_ID": lambda: digits(11),
        "ES_DNI": lambda: rng.choice([rng.choice("XYZ") + digits(7), digits(8)]) + rng.choice(string.ascii_uppercase),
        "IT_FISCAL_CODE": lambda: mutate(cf_make()),
        "NL_BSN": lambda: digits(9),
        "SE_PERSONNUMMER": lambda: digits(6) + "-" + digits(4),
        "PL_PESEL": lambda: digits(11),
    }[kind]()


KINDS = {
    "FR_NIR": (nir_make, nir_ok),
    "DE_TAX_ID": (idnr_make, idnr.is_valid),
    "ES_DNI": (dni_make, lambda v: dni.is_valid(v) or nie.is_valid(v)),
    "IT_FISCAL_CODE": (cf_make, lambda v: len(v) == 16 and codicefiscale.is_valid(v)),
    "NL_BSN": (bsn_make, bsn.is_valid),
    "SE_PERSONNUMMER": (pnr_make, pnr_ok),
    "PL_PESEL": (pesel_make, pesel_ok),
}

for kind, (make, ok) in KINDS.items():
    for i in range(N):
        r = i % 3
        v = make() if r == 0 else mutate(make()) if r == 1 else shaped(kind)
        print(f"{kind}\t{v}\t{int(bool(ok(v)))}")
