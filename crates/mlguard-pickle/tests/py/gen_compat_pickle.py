"""Writes data/compat_pickle.tsv from CPython's _compat_pickle (run with Python 3.11).

    python3 crates/mlguard-pickle/tests/py/gen_compat_pickle.py > crates/mlguard-pickle/data/compat_pickle.tsv
"""
import _compat_pickle
import sys

v = sys.version_info
print(f"""\
# Python 2 -> Python 3 names that CPython's unpickler maps before it imports a global.
#
# Generated, do not edit by hand: from CPython {v.major}.{v.minor}.{v.micro}'s _compat_pickle module with
#   python3 crates/mlguard-pickle/tests/py/gen_compat_pickle.py > crates/mlguard-pickle/data/compat_pickle.tsv
#
# Format: one mapping a line, 4 TAB-separated fields:
#   old_module <TAB> old_name <TAB> new_module <TAB> new_name
# A row whose old_name and new_name are both `*` comes from _compat_pickle.IMPORT_MAPPING: the
# whole module is renamed and every name keeps its spelling. Any other row comes from
# _compat_pickle.NAME_MAPPING: that exact (module, name) pair becomes the new pair, and it is
# tried before the module-wide rename (as CPython's Unpickler.find_class does).
#
# CPython applies these mappings only while the protocol in force is below 3 (the argument of the
# last PROTO opcode read so far, 0 before any; with the default fix_imports=True): there the
# mapped name is the one imported and the one to judge. From protocol 3 on the name is imported
# as written (so protocol-3 `_elementtree` is the C accelerator, protocol-2 `_elementtree` is
# `xml.etree.ElementTree`; protocol-2 `dbm` is `dbm.ndbm`).""")
print()
print("# IMPORT_MAPPING: whole modules renamed")
for old, new in sorted(_compat_pickle.IMPORT_MAPPING.items()):
    print(f"{old}\t*\t{new}\t*")
print()
print("# NAME_MAPPING: single names moved")
for (om, on), (nm, nn) in sorted(_compat_pickle.NAME_MAPPING.items()):
    print(f"{om}\t{on}\t{nm}\t{nn}")
