"""`python -m bem` runs the CLI."""

from bem.cli import main

main()
