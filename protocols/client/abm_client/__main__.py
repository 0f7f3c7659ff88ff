"""`python3 -m abm_client …`: the command line (see the package's docstring)."""
import sys

from . import main

sys.exit(main())
