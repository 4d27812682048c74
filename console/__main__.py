"""``python -m console`` — the same entry point as the ``incident-console`` script.

Guarded: a helper process spawned by the console (the audit load's page decoder) imports the
main module again, and must not start a second console.
"""

from console.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
