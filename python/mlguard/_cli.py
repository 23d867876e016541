"""The ``mlguard`` command installed by the wheel: the Rust command line, run in process."""
import sys

from . import _mlguard


def main() -> None:
    """Runs ``mlguard`` with this process's arguments and exits with its status."""
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(_mlguard.run_cli(["mlguard", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
