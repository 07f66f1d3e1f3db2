"""`python -m protekt.cli`: the `protekt` command without the installed script."""

from protekt.cli import main

raise SystemExit(main())
