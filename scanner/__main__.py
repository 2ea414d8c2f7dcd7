"""`python -m scanner run|decode|bench`."""
from .cli import main

raise SystemExit(main())
