"""gunicorn settings for the pass service:  gunicorn -c gunicorn.conf.py 'app:create_app()'

Every value can be changed by an environment variable (GUNICORN_WORKERS, GUNICORN_BIND...),
so a systemd unit (docs/deploy.md) needs no edited copy of this file.

* workers: 2 x cores + 1 gthread workers of 16 threads each (the scan API is short
  database work; a phone page is a signature and a QR); each worker is one process
  with its own pool. Not sync workers: with those, as many idle or slow clients as
  there are workers (5 phones on a bad link, or 5 idle sockets from anyone) made the
  gate API unavailable for as long as they stayed. A gthread worker parks a
  connection that sends nothing in its poller, without a thread, but only after
  holding a thread for up to 5 s waiting for its first bytes (gunicorn 27); with 4
  threads, 8 idle sockets held both workers of a small install and a scan waited
  those 5 s. A waiting thread costs a little memory, so 16.
* control socket: off unless GUNICORN_CONTROL_SOCKET names one for this instance.
  gunicorn's default is one per user ($XDG_RUNTIME_DIR/gunicorn.ctl), which every
  community's unit run by the same user would share.
* timeouts: a request that takes longer than 30 s is a stuck worker and is restarted;
  a graceful reload (``kill -HUP``, ``systemctl reload``) lets running requests finish
  for up to 30 s before old workers exit.
* access log: one line per request, the client's address from the proxy's
  X-Forwarded-For, and the path with every secret link's variable part replaced
  (``/p/…``, ``/register/…``, ``/register/status/…``: ``gatepass.logs.SECRET_PATHS``):
  a log file is read by more people than the office.
"""
import multiprocessing
import os

from gunicorn.glogging import Logger

from gatepass.logs import RedactSecrets, redact

env = os.environ.get

bind = env("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(env("GUNICORN_WORKERS") or 2 * multiprocessing.cpu_count() + 1)
worker_class = env("GUNICORN_WORKER_CLASS") or "gthread"
threads = int(env("GUNICORN_THREADS") or 16)
timeout = int(env("GUNICORN_TIMEOUT") or 30)
graceful_timeout = int(env("GUNICORN_GRACEFUL_TIMEOUT") or 30)
keepalive = 5
# Recycle workers now and then (a slow leak never grows for weeks); jitter staggers them.
max_requests = int(env("GUNICORN_MAX_REQUESTS") or 20000)
max_requests_jitter = 2000
preload_app = False  # each worker opens its own database connections
forwarded_allow_ips = env("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
accesslog = env("GUNICORN_ACCESSLOG", "-")
errorlog = env("GUNICORN_ERRORLOG", "-")
loglevel = env("GUNICORN_LOGLEVEL", "info")
# %(U)s is the path without the query; the query string is left out on purpose.
access_log_format = '%({x-forwarded-for}i)s %(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
limit_request_line = 4096
if env("GUNICORN_CONTROL_SOCKET"):
    control_socket = env("GUNICORN_CONTROL_SOCKET")
else:
    control_socket_disable = True


class RedactingLogger(Logger):
    """gunicorn's logger with every secret path in access and error lines replaced."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("U", "r", "f", "q"):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        for key in list(atoms):  # {header}i / {header}e atoms (e.g. a Referer)
            if key.startswith("{") and isinstance(atoms[key], str):
                atoms[key] = redact(atoms[key])
        return atoms

    def setup(self, cfg):
        super().setup(cfg)
        self.error_log.addFilter(RedactSecrets())


logger_class = RedactingLogger


def post_worker_init(worker):
    """Say when a worker can take requests, not only that it started booting: a worker
    still importing the app takes none, so the others take every connection meanwhile
    (anyone waiting for the service to be fully up waits for one line per worker)."""
    worker.log.info("Worker ready (pid: %s)", worker.pid)
