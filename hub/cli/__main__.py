"""`python -m hub.cli` is the `hub` command (handy where the console script is not on PATH)."""

from hub.cli.app import main

main()
