"""moto_server, one request at a time.

DynamoDB applies a conditional write atomically: of two concurrent writes conditioned on
the same version, exactly one succeeds. moto checks the condition and then writes without
a lock, so under concurrent requests both can succeed. The session store's tests and the
refresh coordinator's single-flight tests depend on DynamoDB's behaviour, so this
launcher serves moto's own application (the one `moto_server` serves) behind a lock that
lets one request at a time through. Connections are still accepted in parallel.

Usage: moto_serial.py HOST PORT
"""

import os
import signal
import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    host, port = sys.argv[1], int(sys.argv[2])
    # moto builds some URLs from it, as moto_server does.
    os.environ.setdefault("MOTO_PORT", str(port))
    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serial(environ, start_response):
        with lock:
            # The whole body is produced inside the lock.
            return [b"".join(app(environ, start_response))]

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    run_simple(host, port, serial, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
