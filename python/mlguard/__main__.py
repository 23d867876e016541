"""``python -m mlguard``: the same command line as ``mlguard``."""
from ._cli import main

main()
