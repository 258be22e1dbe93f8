"""``python -m constructs_local`` — see :mod:`constructs_local.cli`."""

from constructs_local.cli import main

raise SystemExit(main())
