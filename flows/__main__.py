"""``python -m flows``: the Big D command line."""

from flows.cli import main

main()
