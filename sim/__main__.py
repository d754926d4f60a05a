"""`python -m sim` is the same as the `claimsim` command."""

from sim.cli import main

main()
