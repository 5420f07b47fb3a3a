"""The command-line client (scripts/ocr): files and folders in, the farm's results written beside them.

It speaks to the farm in one of two ways, both with the same inputs, outputs and report:

- over HTTP (farm.py): POST /v1/jobs, then GET the job until it is done or failed;
- through the drop folder of a spool on this machine (dropfolder.py): the file is renamed into
  <spool>/inbox/ and its result read from <spool>/outbox/ or <spool>/failed/.

inputs.py finds the files and decides where each result goes; cli.py runs them with a pool of
threads, a progress bar, and a closing report.
"""
