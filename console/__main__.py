"""``python -m console`` — the same entry point as the ``incident-console`` script.

Guarded, so that importing the module (a tool, a test) never starts a console.
"""

from console.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
