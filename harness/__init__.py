"""What the tests and the benchmark share: a whole farm started as users start it (harness/farm.py).

Not part of the installed package; it runs from a checkout.
"""
