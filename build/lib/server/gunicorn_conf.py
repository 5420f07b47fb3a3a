"""gunicorn settings for the web front, derived from the checked OCRFARM_* settings."""

from ocrfarm.settings import WEB, load_or_exit

_settings = load_or_exit(WEB)

wsgi_app = "server:create_app()"
bind = f"{_settings.host}:{_settings.port}"
workers = _settings.web_processes
# Threaded workers: a request waiting for its result holds a thread, not a process.
worker_class = "gthread"
threads = _settings.web_threads
# Longer than the longest wait a request may do, so a graceful stop lets waiting requests answer.
graceful_timeout = int(_settings.wait_timeout) + 5
accesslog = "-"
errorlog = "-"
# supervisord is the control interface; gunicorn's own control socket would sit in $HOME, shared by
# every instance on the machine.
control_socket_disable = True
