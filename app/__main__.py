"""`python -m app` runs the emotune CLI (tests start subprocesses this way)."""

from app.cli.main import run

run()
