"""scripts/bench: how close the farm comes to the engine's own limit on this machine.

`scripts/bench --help` lists the sections and options; docs/bench/README.md explains each figure.
"""
