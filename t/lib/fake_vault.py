#!/usr/bin/python3
"""A HashiCorp Vault stand-in for tests: the parts of the HTTP API that Acra's Vault
master-key loader uses, with Vault's documented response shapes.

  GET /v1/sys/internal/ui/mounts  -> {"data": {"auth": {}, "secret": <mounts>}}
  GET /v1/<path>                  -> {"data": <secrets[path]>} or 404 {"errors": []}

Every request must carry X-Vault-Token equal to the configured token, else
403 {"errors": ["permission denied"]}.

Usage: fake_vault.py --config FILE --port-file FILE [--mode normal|malformed|silent]
                     [--tls-cert PEM --tls-key PEM]
config: {"token": "...", "mounts": {"secret/": {"type": "kv", "options": {"version": "2"}}},
         "secrets": {"secret/data/acra": {"data": {"acra_master_key": "..."}}}}
--mode malformed answers every request with 200 and a body that is not JSON;
--mode silent accepts connections and never answers (client timeouts);
--redirect-to URL answers every request as a standby node that does not forward does:
307 with Location: URL + request path (URL may be this server's own, for a loop).
"""
import argparse
import hmac
import json
import os
import ssl
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--mode", default="normal", choices=["normal", "malformed", "silent"])
    ap.add_argument("--redirect-to")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    args = ap.parse_args()
    with open(args.config) as f:
        cfg = json.load(f)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            sys.stderr.write("fake_vault: " + (fmt % a) + "\n")

        def reply(self, status, obj=None, raw=None):
            body = raw if raw is not None else json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def envelope(self, data):
            return {"request_id": str(uuid.uuid4()), "lease_id": "", "renewable": False,
                    "lease_duration": 0, "data": data, "wrap_info": None,
                    "warnings": None, "auth": None}

        def do_GET(self):
            if args.mode == "silent":
                time.sleep(30)
                return
            if args.mode == "malformed":
                self.reply(200, raw=b"<html>this is not JSON</html>")
                return
            if args.redirect_to:
                target = args.redirect_to
                if target == "self":
                    target = "http://127.0.0.1:%d" % srv.server_address[1]
                self.send_response(307)
                self.send_header("Location", target + self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            token = self.headers.get("X-Vault-Token", "")
            if not hmac.compare_digest(token.encode(), cfg["token"].encode()):
                self.reply(403, {"errors": ["permission denied"]})
                return
            if not self.path.startswith("/v1/"):
                self.reply(404, {"errors": []})
                return
            path = self.path[len("/v1/"):]
            if path == "sys/internal/ui/mounts":
                self.reply(200, self.envelope({"auth": {"token/": {"type": "token"}},
                                               "secret": cfg["mounts"]}))
                return
            data = cfg["secrets"].get(path)
            if data is None:
                self.reply(404, {"errors": []})
                return
            self.reply(200, self.envelope(data))

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
