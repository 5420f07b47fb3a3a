"""`python -m bench`: the same as scripts/bench (which also sets up .venv first)."""

if __name__ == "__main__":
    # Imported here, not above: engine processes are spawned fresh and re-import this module, and
    # must not load anything before they cap their native thread pools.
    import sys

    from bench.cli import main

    sys.exit(main())
