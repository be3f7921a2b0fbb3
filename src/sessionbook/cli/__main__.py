"""`python -m sessionbook.cli`: the same command line as the `sessionbook` script."""

from sessionbook.cli.main import app

app()
