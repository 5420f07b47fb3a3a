"""`python -m launcher <command>`: the same as `ocrfarm <command>`; the scripts use it so that a checkout
runs its own code."""

import sys

from launcher.commands import main

sys.exit(main())
