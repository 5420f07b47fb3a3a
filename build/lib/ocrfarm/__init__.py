"""Pieces shared by the web front and the workers: settings, the spool protocol, document checks,
options, metrics.

Neither side imports the other; both import this package.
"""
