"""`python -m replay` is the `hub` command (handy where the console script is not on PATH)."""

from replay.cli import main

main()
