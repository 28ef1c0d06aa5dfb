"""`python -m kanalytics` runs the CLI."""

from kanalytics.cli import main

main()
