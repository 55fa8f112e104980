#!/usr/bin/env python3
"""A minimal receiver for Tencent Cloud SMS callbacks (delivery reports and replies).

    python bindings/python/examples/callback_receiver.py [--host 127.0.0.1] [--port 8080]

Set its URL (http://HOST:PORT/ behind your HTTPS front end) as the application's callback
URL. Every POST body is parsed with tcsms.parse_callback; each record is printed as one JSON
line on stdout, and the service gets exactly the acknowledgement it expects,
{"result": 0, "errmsg": "OK"}, or {"result": 1, "errmsg": "<reason>"} for a bad body.
The first stdout line is "listening on http://HOST:PORT".
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import tcsms


class CallbackHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if length < 0 or length > tcsms.MAX_CALLBACK_BYTES:
            # Refused before reading: a negative or oversized length.
            self._answer(413, tcsms.callback_nack(f"body length {length} refused"))
            self.close_connection = True
            return
        body = self.rfile.read(length)
        try:
            callback = tcsms.parse_callback(body)
        except tcsms.TcsmsError as exc:
            self._answer(400, tcsms.callback_nack(f"{exc.code}: {exc.message}"))
            return
        records = callback.reports if isinstance(callback, tcsms.DeliveryCallback) else [callback.reply]
        for record in records:
            line = {"kind": callback.kind, **dataclasses.asdict(record)}
            print(json.dumps(line, ensure_ascii=False), flush=True)
        self._answer(200, tcsms.CALLBACK_ACK)

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        sys.stderr.write("%s %s\n" % (self.address_string(), format % args))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), CallbackHandler)
    host, port = server.server_address[:2]
    print(f"listening on http://{host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
