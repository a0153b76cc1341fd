"""``python -m floodmesh``."""

import sys

from floodmesh.cli import main

sys.exit(main())
