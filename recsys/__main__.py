"""``python -m recsys``: see recsys.cli."""

from recsys.cli import main

raise SystemExit(main())
