"""`python -m sociosim ...`: the same command line as `sociosim ...`."""

from sociosim.cli import main

main()
