"""The `ocrfarm` command (launcher/commands.py) and the supervisord configuration of the farm's programs.

It stands above every other package (ocrfarm/, server/, workers/, client/) and imports each program
only when that program is asked for; nothing imports it.
"""
