"""Objective measurement of facial synkinesis.

The computing core flows frames → landmarks → measures → findings; it imports no web or
database code, so the CLI, a notebook, the web worker and a batch task all call it unchanged.
"""

__version__ = "0.1.0"
