"""`python -m ui.cli`: the `policy-qa` command."""

import sys

from ui.cli.main import main

sys.exit(main())
