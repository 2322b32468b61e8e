"""python -m recog: the recog command."""

import sys

from .cli import main

sys.exit(main())
