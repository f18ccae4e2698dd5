"""``python -m helpers.reduce``: see :mod:`helpers.reduce.cli`."""

import sys

from helpers.reduce.cli import main

sys.exit(main())
