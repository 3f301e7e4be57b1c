"""`python -m onelake_contents` is the `onelake-contents` command."""

import sys

from .cli import main

sys.exit(main())
