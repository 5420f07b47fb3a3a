"""Pieces shared by the web front and the workers: settings, the spool protocol, image checks.

Neither side imports the other; both import this package.
"""
