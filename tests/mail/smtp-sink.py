#!/usr/bin/python3
"""An SMTP sink for the tests: each message goes to the maildir of each of
its recipients, so that the network's mailbox and a structure's mailbox are
separate Dovecot users (aiosmtpd's Mailbox handler writes everything into
one maildir).

Usage: smtp-sink.py HOST:PORT MAIL_ROOT [TLS_CERT TLS_KEY]

A recipient's local part, lower-cased, names the user: alice@localhost is
delivered to MAIL_ROOT/alice/Maildir/new/ (made when missing). Local parts
other than [a-z0-9._-] are refused with 550, so nothing is written outside
MAIL_ROOT. The bytes are written as received (no headers added), first in
tmp/ then renamed into new/, as maildir readers expect. SIGTERM stops it.

Two files in MAIL_ROOT, upper case so that no user's folder can take their
name, let a test steer and watch the sink:
- REFUS, read at each RCPT TO: lines "LOCAL CODE TEXT" ("bob 550 5.1.1
  Boite inconnue"); a recipient whose local part is LOCAL gets "CODE TEXT".
- RCPT.log, appended at each RCPT TO: "CODE ADDRESS", the code answered and
  the address as the client wrote it, so a test can tell "never tried"
  from "refused".
"""
import asyncio
import os
import re
import signal
import socket
import ssl
import sys
import time

from aiosmtpd.smtp import SMTP

LOCAL_RE = re.compile(r"^[a-z0-9._-]{1,64}$")
SIZE_LIMIT = 64 << 20  # the tests put bigger messages straight into the maildir


def local_part(address):
    local = address.rsplit("@", 1)[0].strip("<>").lower()
    if not LOCAL_RE.match(local) or local in (".", ".."):
        return None
    return local


class Sink:
    def __init__(self, root):
        self.root = root
        self.count = 0

    def refusal(self, local):
        try:
            with open(os.path.join(self.root, "REFUS"), encoding="utf-8") as f:
                for line in f:
                    parts = line.split(None, 1)
                    if len(parts) == 2 and parts[0].lower() == local:
                        return parts[1].strip()
        except FileNotFoundError:
            pass
        return None

    def log_rcpt(self, answer, address):
        with open(os.path.join(self.root, "RCPT.log"), "a", encoding="utf-8",
                  errors="surrogateescape") as f:
            f.write("%s %s\n" % (answer[:3], address))

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = local_part(address)
        answer = "550 destinataire refuse" if local is None else self.refusal(local)
        if answer is None:
            envelope.rcpt_tos.append(address)
            answer = "250 OK"
        self.log_rcpt(answer, address)
        return answer

    def deliver(self, local, data):
        md = os.path.join(self.root, local, "Maildir")
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(md, sub), mode=0o700, exist_ok=True)
        self.count += 1
        name = "%d.P%dQ%d.%s" % (time.time(), os.getpid(), self.count, socket.gethostname())
        tmp = os.path.join(md, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, os.path.join(md, "new", name))

    async def handle_DATA(self, server, session, envelope):
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        for rcpt in envelope.rcpt_tos:
            self.deliver(local_part(rcpt), data)
        return "250 Message accepted for delivery"


async def main():
    host, port = sys.argv[1].rsplit(":", 1)
    root = sys.argv[2]
    context = None
    if len(sys.argv) > 4:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(sys.argv[3], sys.argv[4])
    handler = Sink(root)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, data_size_limit=SIZE_LIMIT, hostname="localhost",
                     tls_context=context, enable_SMTPUTF8=True),
        host=host, port=int(port))
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    asyncio.run(main())
