"""`python -m app.cli`: how `serve` starts its worker processes."""

from app.cli import cli

cli()
