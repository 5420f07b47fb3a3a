"""OCR worker processes: claim spooled jobs, run the engine, write results. Run with `python -m workers`."""
