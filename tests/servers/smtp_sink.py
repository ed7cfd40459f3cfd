#!/usr/bin/python3
"""smtp_sink.py - a real SMTP server (aiosmtpd) for Norvalt's tests.

    smtp_sink.py MAILDIR [--fail CODE[,CODE...]] [--auth USER:PASSWORD]
                 [--tls CERT KEY [--implicit]]

Listens on 127.0.0.1, an ephemeral port, and prints "PORT <n>" once it
accepts connections.  Every accepted message is written to MAILDIR as
NNNN.eml (the DATA exactly as received) and NNNN.json (the envelope:
mail_from, rcpt_tos, auth_login).

Scripted failures: a queue of reply codes consumed one per message.
"451" or "550" refuses the next message at the end of DATA with that
code; "rcpt:550" refuses its RCPT TO instead.  The queue starts with
--fail and grows whenever MAILDIR/control exists: its whitespace-separated
codes are appended and the file is removed (write it to a temporary name
and rename it, so it is never read half-written).

--tls offers STARTTLS with that certificate and key (PEM) and then
requires it before MAIL FROM; with --implicit the port speaks TLS from
the first byte instead (smtps).  The envelope's "tls" says whether the
message came over TLS.

--auth requires AUTH PLAIN or LOGIN with that user and password before
MAIL FROM (530 otherwise; 535 for wrong credentials).  Plain text on
loopback is allowed (auth_require_tls=False).

Stops on SIGTERM or SIGINT.  Needs Debian's python3-aiosmtpd.
"""

import argparse
import asyncio
import json
import os
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Sink:
    def __init__(self, maildir, fails):
        self.maildir = maildir
        self.queue = list(fails)
        self.count = 0

    def _control(self):
        path = os.path.join(self.maildir, "control")
        try:
            with open(path, encoding="ascii") as f:
                self.queue.extend(f.read().split())
            os.unlink(path)
        except FileNotFoundError:
            pass

    def _next(self, where):
        """The scripted code for this stage, consumed; None to accept."""
        self._control()
        if not self.queue:
            return None
        head = self.queue[0]
        stage, _, code = head.rpartition(":")
        if (stage or "data") != where:
            return None
        self.queue.pop(0)
        return int(code)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        code = self._next("rcpt")
        if code is not None:
            return f"{code} 5.1.1 <{address}>: recipient refused (scripted)"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        code = self._next("data")
        if code is not None:
            if code < 500:
                return f"{code} 4.3.0 try again later (scripted)"
            return f"{code} 5.7.1 message rejected (scripted)"
        self.count += 1
        base = os.path.join(self.maildir, f"{self.count:04d}")
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "auth_login": (session.auth_data.login.decode("utf-8", "replace")
                           if isinstance(session.auth_data, LoginPassword)
                           else None),
            "tls": (session.ssl is not None or server.transport is not None
                    and server.transport.get_extra_info("ssl_object")
                    is not None),
        }
        # The .json first and the .eml last, each renamed into place: a
        # reader that sees NNNN.eml finds both complete.
        for ext, data in ((".json", json.dumps(meta).encode()),
                          (".eml", envelope.original_content)):
            tmp = base + ext + ".tmp"
            with open(tmp, "wb") as f:
                f.write(data)
            os.rename(tmp, base + ext)
        return "250 2.0.0 OK queued as " + f"{self.count:04d}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("maildir")
    ap.add_argument("--fail", default="")
    ap.add_argument("--auth", default=None)
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), default=None)
    ap.add_argument("--implicit", action="store_true")
    args = ap.parse_args()
    ctx = None
    if args.tls is not None:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.tls[0], args.tls[1])
    os.makedirs(args.maildir, exist_ok=True)
    sink = Sink(args.maildir, [c for c in args.fail.split(",") if c])

    authenticator = None
    if args.auth is not None:
        user, _, password = args.auth.partition(":")

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword)
                  and auth_data.login == user.encode()
                  and auth_data.password == password.encode())
            return AuthResult(success=ok, handled=False,
                              auth_data=auth_data if ok else None)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    def factory():
        starttls = ctx is not None and not args.implicit
        return SMTP(sink, hostname="sink.norvalt.localhost",
                    authenticator=authenticator,
                    auth_required=authenticator is not None,
                    auth_require_tls=False,
                    tls_context=ctx if starttls else None,
                    require_starttls=starttls, loop=loop)

    server = loop.run_until_complete(
        loop.create_server(factory, host="127.0.0.1", port=0,
                           ssl=ctx if args.implicit else None))
    port = server.sockets[0].getsockname()[1]
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, loop.stop)
    print(f"PORT {port}", flush=True)
    try:
        loop.run_forever()
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
