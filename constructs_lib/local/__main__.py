"""``python -m constructs_lib.local`` — see :mod:`constructs_lib.local.cli`."""

from constructs_lib.local.cli import main

raise SystemExit(main())
