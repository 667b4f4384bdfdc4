#!/usr/bin/python3
"""A real SMTP server for the e-mail tests (Debian's python3-aiosmtpd), on a loopback port.

    smtp_server.py --listen 127.0.0.1:PORT --dir DIR [--mode plain|starttls|tls]
                   [--cert CERT --key KEY] [--auth USER:PASSWORD] [--reject-rcpt SUBSTRING]

Every message it accepts is written as it came (the DATA bytes, dot-unstuffed by the server) to
DIR/N.eml, and what the session was to DIR/N.json: {"mail_from", "rcpt_tos", "tls", "login"}.
starttls offers STARTTLS and refuses MAIL before it; tls speaks TLS from the first byte; --auth
makes AUTH (PLAIN or LOGIN, over TLS) a condition of MAIL. A recipient containing SUBSTRING is
refused with 550 (a permanent failure). It runs until SIGTERM.
"""
import argparse
import asyncio
import json
import os
import signal
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    def __init__(self, directory, reject, implicit_tls):
        self.directory = directory
        self.reject = reject
        self.implicit_tls = implicit_tls
        self.n = len([f for f in os.listdir(directory) if f.endswith(".eml")])  # a restart goes on

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reject and self.reject in address:
            return "550 5.1.1 <%s>: no such mailbox here" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        base = os.path.join(self.directory, "%d" % self.n)
        with open(base + ".tmp", "wb") as f:
            f.write(envelope.original_content)
        auth = session.auth_data
        login = auth.login.decode() if isinstance(auth, LoginPassword) else None
        with open(base + ".json", "w") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                       "tls": session.ssl is not None or self.implicit_tls, "login": login}, f)
        os.rename(base + ".tmp", base + ".eml")  # the test waits for .eml: complete once there
        return "250 2.0.0 Message accepted for delivery"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--mode", default="plain", choices=["plain", "starttls", "tls"])
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--auth")
    ap.add_argument("--reject-rcpt")
    a = ap.parse_args()
    host, _, port = a.listen.rpartition(":")
    ctx = None
    if a.mode != "plain":
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.cert, a.key)
    kwargs = {}
    if a.auth:
        user, _, password = a.auth.partition(":")

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user \
                and auth_data.password.decode() == password
            return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

        # aiosmtpd 1.4 counts only STARTTLS as TLS: with implicit TLS, AUTH is offered regardless
        kwargs.update(authenticator=authenticator, auth_required=True, auth_require_tls=a.mode == "starttls")
    if a.mode == "starttls":
        kwargs.update(tls_context=ctx, require_starttls=True)
    controller = Controller(Sink(a.dir, a.reject_rcpt, a.mode == "tls"), hostname=host, port=int(port),
                            ssl_context=ctx if a.mode == "tls" else None, server_hostname="localhost",
                            ready_timeout=10, **kwargs)
    controller.start()
    print("listening on %s:%s (%s)" % (host, port, a.mode), flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
