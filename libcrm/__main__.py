"""``python -m libcrm``: see libcrm.cli."""

from libcrm.cli import main

raise SystemExit(main())
