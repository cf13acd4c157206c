"""Run the command-line interface: ``python -m tenderwatch``."""

from tenderwatch.cli import main

main()
