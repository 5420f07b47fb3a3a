"""Calls that block on the disk, run off the event loop.

Under gunicorn's gevent worker every request of a process shares one thread: a submit to the spool
fsyncs four times, and on a busy disk each fsync can take tens of milliseconds, during which no other
request of the process, health checks included, is answered (measured: /healthz took up to 3.5 s
while 300 uploads arrived at once). gevent's thread pool runs such a call in a real thread while the
loop goes on. Outside gevent (tests, the flask dev server) the call is made in place.
"""

from __future__ import annotations


def offload(fn, *args, **kwargs):
    try:
        from gevent import monkey
    except ImportError:
        return fn(*args, **kwargs)
    if not monkey.is_module_patched("socket"):
        return fn(*args, **kwargs)
    import gevent

    return gevent.get_hub().threadpool.apply(fn, args, kwargs)
