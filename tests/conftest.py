"""Shared pytest hooks."""

from tests import helpers


def pytest_terminal_summary(terminalreporter):
    # Figures that tests report (the fault suite's counts) go last, where a CI log shows them.
    for line in helpers.SUMMARY_LINES:
        terminalreporter.write_line(line)
