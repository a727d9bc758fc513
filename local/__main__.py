"""`python -m local` (what `make run` starts): the local cloud in the foreground with demo data; Ctrl-C stops it."""

from __future__ import annotations

import errno
import logging
import os
import signal
import sys
import threading

from local.openapi import write_openapi
from local.seed import seed
from local.system import LocalSystem


def main() -> int:
    logging.basicConfig(level=os.environ.get("STORELOOP_LOCAL_LOG", "INFO"),
                        format="%(asctime)s %(name)s %(message)s", datefmt="%H:%M:%S")
    # The handlers log JSON through Powertools at INFO; the gateway line per request is enough here.
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", os.environ.get("STORELOOP_HANDLER_LOG", "WARNING"))
    host = os.environ.get("STORELOOP_HOST", "127.0.0.1")
    api_port = int(os.environ.get("STORELOOP_API_PORT", "3000"))
    wechat_port = int(os.environ.get("STORELOOP_WECHAT_PORT", "3001"))
    dynamodb_port = int(os.environ.get("STORELOOP_DYNAMODB_PORT", "0"))  # 0: a free one (printed below)
    system = LocalSystem(host, api_port, wechat_port, dynamodb_port=dynamodb_port)
    try:
        system.start()
    except OSError as exc:
        system.stop()
        if exc.errno == errno.EADDRINUSE:
            print(f"storeloop: a port is taken ({exc}). Stop what uses it, or choose others: "
                  f"STORELOOP_API_PORT={api_port} STORELOOP_WECHAT_PORT={wechat_port} make run", file=sys.stderr)
            return 2
        raise
    except KeyboardInterrupt:  # Ctrl-C while starting
        system.stop()
        return 0
    assert system.cloud is not None and system.server is not None and system.wechat is not None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:  # Ctrl-C at any point from here (seeding included) stops everything, DynamoDB Local's JVM too
        demo = seed(system.client)
        write_openapi(system.cloud)
        print(f"StoreLoop local cloud\n  API      {system.server.base_url}   (GET /health, /openapi.json)\n"
              f"  WeChat   {system.wechat.base_url}   (fake: login, messages, Pay, /_sim/pay)\n"
              f"  DynamoDB {system.engine.endpoint if system.engine else '-'}   (DynamoDB Local, in memory)\n"
              f"  admin token: POST /auth/login {{\"code\": \"admin\"}}; demo stores: "
              f"{', '.join(s['store_id'] for s in demo['stores'])}\nCtrl-C stops everything.", flush=True)
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        system.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
