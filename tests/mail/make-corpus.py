#!/usr/bin/python3
"""Writes the MIME test corpus (tests/mail/*.eml) used by tests/test-mime.c.

Well-formed messages are made with Python's standard email package, as a
real mail client would make them; the malformed ones are assembled byte by
byte, since no mail library will produce them. The output is deterministic
(fixed dates, identifiers and boundaries), so running the script again
rewrites the same files.

Usage: tests/mail/make-corpus.py [OUTPUT_DIR]   (default: the script's dir)
"""
import io
import os
import random
import sys
import zipfile
from email import policy
from email.message import EmailMessage, Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.mime.message import MIMEMessage

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
DATE = "Mon, 06 Jan 2025 10:30:00 +0100"
TO = "relais@pdn43.example"
FORM = ("Nom de la structure : Centre social Les Tilleuls\n"
        "Commune : Le Puy-en-Velay\n"
        "Nom du promeneur : Zoé Müller\n"
        "Fonction : éducatrice spécialisée\n")

# email.generator draws boundaries from random: seed it for stable output.
random.seed(43)


def write(name, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def base(msg, n, subject, sender="Zoé Müller <zoe@tilleuls.example>"):
    msg["From"] = sender
    msg["To"] = TO
    msg["Subject"] = subject
    msg["Date"] = DATE
    msg["Message-ID"] = "<corpus-%02d@tilleuls.example>" % n
    return msg


def emit(name, msg):
    write(name, msg.as_bytes(policy=policy.SMTP))


def simple(n, name, subject, body, charset, cte=None, **extra):
    m = base(EmailMessage(), n, subject)
    for k, v in extra.items():
        m[k.replace("_", "-")] = v
    if cte:
        m.set_content(body, charset=charset, cte=cte)
    else:
        m.set_content(body, charset=charset)
    emit(name, m)


def raw(headers, body):
    """Joins header lines and a body (bytes) with CRLF, as on the wire."""
    head = "\r\n".join(headers).encode("utf-8")
    return head + b"\r\n\r\n" + body


def main():
    # Plain text in the usual charsets.
    simple(1, "plain-utf8.eml", "Candidature — Centre social Les Tilleuls", FORM, "utf-8")
    simple(2, "latin1.eml", "Bilan annuel", "Bilan annuel : déjà reçu, à compléter.\n",
           "iso-8859-1", "quoted-printable")
    simple(3, "cp1252.eml", "Subvention", "Coût : 500 € — l’équipe remercie.\n",
           "windows-1252", "quoted-printable")
    simple(7, "qp.eml", "Quoted-printable",
           "Une très longue ligne " + "é" * 60 + " qui dépasse soixante-seize caractères.\n",
           "utf-8", "quoted-printable")
    simple(8, "base64.eml", "Base64", "Texte encodé en base64 : ça marche.\n",
           "utf-8", "base64")

    # Declared charsets that lie, and none at all.
    common = ["From: Zoe <zoe@tilleuls.example>", "To: " + TO, "Date: " + DATE,
              "MIME-Version: 1.0"]
    write("latin1-actually-utf8.eml", raw(common + [
        "Subject: Faux latin-1", "Message-ID: <corpus-04@tilleuls.example>",
        "Content-Type: text/plain; charset=iso-8859-1",
        "Content-Transfer-Encoding: 8bit"],
        "Déclaré latin-1 mais écrit en UTF-8.\r\n".encode("utf-8")))
    write("utf8-actually-cp1252.eml", raw(common + [
        "Subject: Faux UTF-8", "Message-ID: <corpus-05@tilleuls.example>",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit"],
        "Déclaré UTF-8 mais écrit en Windows-1252 : 20 €.\r\n".encode("cp1252")))
    write("no-charset.eml", raw([
        "From: Zoe <zoe@tilleuls.example>", "To: " + TO, "Date: " + DATE,
        "Subject: Sans charset", "Message-ID: <corpus-06@tilleuls.example>"],
        "Aucun en-tête MIME, texte en UTF-8 : été.\r\n".encode("utf-8")))

    # RFC 2047 subjects written as real clients fold them.
    write("subject-q.eml", raw(common + [
        "Subject: =?UTF-8?Q?Candidature_=C3=A9t=C3=A9_2025?=",
        "Message-ID: <corpus-09@tilleuls.example>",
        "Content-Type: text/plain; charset=utf-8"], b"Corps.\r\n"))
    # "é" (C3 A9) is cut between the two base64 words: only joining them
    # before decoding gives it back.
    write("subject-split.eml", raw(common + [
        "Subject: =?UTF-8?B?QmlsYW4gZMOpdGFpbGzD?=\r\n =?UTF-8?B?qSBkZSBsJ2FubsOpZQ==?=",
        "Message-ID: <corpus-10@tilleuls.example>",
        "Content-Type: text/plain; charset=utf-8"], b"Corps.\r\n"))
    write("subject-mixed.eml", raw([
        "From: =?ISO-8859-1?Q?Andr=E9?= =?UTF-8?Q?_L=C3=A9v=C3=AAque?= <andre@mjc.example>",
        "To: " + TO, "Date: " + DATE, "MIME-Version: 1.0",
        "Subject: =?ISO-8859-1?Q?R=E9ponse?= =?UTF-8?B?IMOgIGxh?= demande =?windows-1252?Q?=80?=",
        "Message-ID: <corpus-11@tilleuls.example>",
        "Content-Type: text/plain; charset=utf-8"], b"Corps.\r\n"))

    # Multipart structures.
    m = base(EmailMessage(), 12, "Alternative")
    m.set_content("Version texte : préférée.\n")
    m.add_alternative("<html><body><p>Version <b>HTML</b></p></body></html>\n", subtype="html")
    emit("alternative.eml", m)

    m = base(EmailMessage(), 13, "Bilan et compte rendu")
    m.set_content("Veuillez trouver le bilan en pièce jointe.\n")
    m.add_attachment("annee;jeunes;heures\n2024;120;310\n", subtype="csv", filename="bilan.csv")
    m.add_attachment(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n",
                     maintype="application", subtype="pdf", filename="compte-rendu été.pdf")
    emit("mixed-csv-pdf.eml", m)

    m = base(EmailMessage(), 14, "Imbriqué")
    m.set_content("Texte imbriqué au fond.\n")
    m.add_alternative("<p>Texte <i>imbriqué</i></p>\n", subtype="html")
    m.get_payload()[1].add_related(b"\x89PNG\r\n\x1a\nfake", maintype="image", subtype="png",
                                   cid="<logo@tilleuls.example>")
    m.make_mixed()
    m.add_attachment(b"PK\x05\x06" + b"\0" * 18, maintype="application", subtype="zip",
                     filename="vide.zip")
    emit("nested.eml", m)

    m = base(EmailMessage(), 15, "HTML seul")
    m.set_content("<html><head><title>Titre</title><style>p { color: red; }</style></head>"
                  "<body><script>alert('x');</script><p>Nom de la structure&nbsp;: "
                  "MJC &amp; Cie</p><div>Coût : 30&#8364; &eacute;t&eacute;</div>"
                  "Ligne<br>suivante</body></html>\n", subtype="html")
    emit("html-only.eml", m)

    inner = base(EmailMessage(), 90, "Candidature", "Paul <paul@mjc.example>")
    inner.set_content(FORM)
    m = base(EmailMessage(), 16, "Tr: Candidature")
    m.set_content("Je vous transfère la candidature de Paul.\n")
    m.add_attachment(inner)
    emit("forwarded.eml", m)

    quoted = "".join("> " + line + "\n" for line in FORM.splitlines())
    simple(17, "reply-quote.eml", "Re: Formulaire de candidature",
           "Voici le formulaire rempli.\n\nLe 5 janv. 2025, relais a écrit :\n" + quoted,
           "utf-8", In_Reply_To="<form-1@pdn43.example>",
           References="<first@pdn43.example> <form-1@pdn43.example>")

    m = base(EmailMessage(), 18, "Bilan (Outlook)")
    m.set_content("Corps caché dans winmail.dat\n")
    m.add_attachment(b"\x78\x9f\x3e\x22" + b"\0" * 40, maintype="application",
                     subtype="ms-tnef", filename="winmail.dat")
    emit("winmail.eml", m)

    # Bounces, auto-replies and list mail: the loop-prone kinds.
    report = MIMEMultipart("report", report_type="delivery-status")
    report.attach(MIMEText("This is the mail system at host mx.example.\n\n"
                           "I'm sorry to have to inform you that your message could not\n"
                           "be delivered.\n", "plain", "us-ascii"))
    status = Message()
    status["Content-Type"] = "message/delivery-status"
    per_msg, per_rcpt = Message(), Message()
    per_msg["Reporting-MTA"] = "dns; mx.example"
    per_rcpt["Final-Recipient"] = "rfc822; x@y.example"
    per_rcpt["Action"] = "failed"
    per_rcpt["Status"] = "5.1.1"
    status.set_payload([per_msg, per_rcpt])
    report.attach(status)
    orig = base(EmailMessage(), 91, "Bilan", "Relais <relais@pdn43.example>")
    orig.set_content("Message original.\n")
    report.attach(MIMEMessage(orig))
    report["Return-Path"] = "<>"
    report["From"] = "MAILER-DAEMON@mx.example (Mail Delivery System)"
    report["To"] = TO
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report["Date"] = DATE
    report["Message-ID"] = "<corpus-19@mx.example>"
    report["Auto-Submitted"] = "auto-replied"
    emit("dsn.eml", report)

    simple(20, "auto-replied.eml", "Re: Formulaire", "Je suis en congés.\n", "utf-8",
           Auto_Submitted="auto-replied")
    simple(21, "absence-fr.eml", "Absence du bureau",
           "Je suis absente jusqu'au 15 janvier.\n", "utf-8", X_Autoreply="yes")
    simple(22, "reponse-auto-fr.eml", "Réponse automatique : Formulaire",
           "Réponse automatique : je suis absent.\n", "utf-8", X_Autorespond="yes")
    simple(23, "ooo-en.eml", "Out of Office: Formulaire", "I am out of the office.\n",
           "utf-8", Auto_Submitted="auto-replied")
    simple(24, "bulk.eml", "Lettre d'information", "Les nouvelles du réseau.\n", "utf-8",
           Precedence="bulk", List_Id="<news.pdn.example>")

    # Hostile and broken input.
    head = common + ["Subject: Profond", "Message-ID: <corpus-25@tilleuls.example>"]
    body = ""
    for i in range(1, 100):
        body += "--b%03d\r\nContent-Type: multipart/mixed; boundary=\"b%03d\"\r\n\r\n" % (i - 1, i)
    body += "--b099\r\nContent-Type: text/plain\r\n\r\nAu fond.\r\n--b099--\r\n"
    for i in range(98, -1, -1):
        body += "--b%03d--\r\n" % i
    write("deep-100.eml", raw(head + ["Content-Type: multipart/mixed; boundary=\"b000\""],
                              body.encode()))

    fold = "\r\n ".join(["x" * 76] * (1024 * 1024 // 79 + 1))
    write("header-1mb.eml", raw(common + ["Subject: En-tete enorme",
                                          "Message-ID: <corpus-26@tilleuls.example>",
                                          "X-Junk: " + fold], b"Corps.\r\n"))

    write("unknown-charset.eml", raw(common + [
        "Subject: Charset inconnu", "Message-ID: <corpus-27@tilleuls.example>",
        "Content-Type: text/plain; charset=x-martien-7",
        "Content-Transfer-Encoding: 8bit"], "Charset inconnu, texte en UTF-8 : ça.\r\n".encode()))

    write("no-end-boundary.eml", raw(common + [
        "Subject: Sans fin", "Message-ID: <corpus-28@tilleuls.example>",
        "Content-Type: multipart/mixed; boundary=\"sansfin\""],
        b"--sansfin\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        b"Premier morceau.\r\n--sansfin\r\nContent-Type: text/csv; name=\"a.csv\"\r\n"
        b"Content-Disposition: attachment; filename=\"a.csv\"\r\n\r\na;b\r\n1;2\r\n"))

    write("truncated-base64.eml", raw(common + [
        "Subject: Base64 tronque", "Message-ID: <corpus-29@tilleuls.example>",
        "Content-Type: multipart/mixed; boundary=\"tb\""],
        b"--tb\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nVoir la piece jointe.\r\n"
        b"--tb\r\nContent-Type: application/pdf; name=\"t.pdf\"\r\n"
        b"Content-Transfer-Encoding: base64\r\n"
        b"Content-Disposition: attachment; filename=\"t.pdf\"\r\n\r\n"
        b"JVBERi0xLjQKJeLjz9MKMSAwIG9iago8PD4+CmVuZG9iag\r\n--tb--\r\n"))

    write("nul-bytes.eml", raw(common + [
        "Subject: Octets nuls", "Message-ID: <corpus-30@tilleuls.example>",
        "Content-Type: text/plain; charset=utf-8"],
        b"Avant\0le nul\0\0apr\xc3\xa8s.\r\n"))

    z = io.BytesIO()
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        info = zipfile.ZipInfo("zeros.bin", date_time=(2025, 1, 6, 10, 30, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(info, b"\0" * (50 * 1024 * 1024))
    m = base(EmailMessage(), 31, "Archive")
    m.set_content("Archive jointe.\n")
    m.add_attachment(z.getvalue(), maintype="application", subtype="zip", filename="zeros.zip")
    emit("zip-zeros.eml", m)


if __name__ == "__main__":
    main()
