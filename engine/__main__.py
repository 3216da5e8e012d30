"""``python -m decide``: the ``decide`` command."""
from decide.app.cli import main

if __name__ == "__main__":
    main(prog_name="decide")
