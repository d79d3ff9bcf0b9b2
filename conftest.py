"""Doctests: `pytest` (and so `make test`) runs every docstring example in src/synkinesis as a test
(`--doctest-modules` in pyproject.toml). Left out are the files that do something when imported:
`python -m synkinesis.cli` runs the command line, and Alembic's env.py needs a migration context."""

collect_ignore = ["src/synkinesis/cli/__main__.py", "src/synkinesis/store/migrations"]
