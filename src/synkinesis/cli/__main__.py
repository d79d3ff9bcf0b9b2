"""`python -m synkinesis.cli …`, the same as the `synkinesis` console script."""

import sys

from . import app

sys.exit(app())
