"""gunicorn settings for the web front, derived from the checked OCRFARM_* settings."""

from ocrfarm.settings import WEB, load_or_exit

_settings = load_or_exit(WEB)

wsgi_app = "server:create_app()"
bind = f"{_settings.host}:{_settings.port}"
workers = _settings.web_processes
# gevent: a request waiting for its result holds a greenlet (a few KB), not a thread. With threads
# (gthread, 2 x 16) 120 waiting clients held every thread and /healthz took up to 19 s (issue 11);
# an event loop answers health checks between the waits. The waiter's capacity
# (OCRFARM_MAX_WAITING) caps the waiting requests, below worker_connections, so that health checks
# and the 202s of requests past the capacity always find a connection.
worker_class = "gevent"
worker_connections = _settings.web_connections
# Longer than the longest wait a request may do, so a graceful stop lets waiting requests answer.
graceful_timeout = int(_settings.wait_timeout) + 5
accesslog = "-"
errorlog = "-"
# supervisord is the control interface; gunicorn's own control socket would sit in $HOME, shared by
# every instance on the machine.
control_socket_disable = True
