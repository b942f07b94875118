#!/usr/bin/python3
"""Writes the office-attachment corpus of tests/test-office.c and
tests/test-e2e-mail.c into OUTPUT_DIR, with the real tools that structures
use: LibreOffice (soffice --headless --convert-to) turns CSV and HTML
sources into XLSX, ODS, XLS, DOCX and ODT files; Python writes the HTML
table pasted from a spreadsheet, the French Excel CSV and the hostile files
(a zip bomb .xlsx, a billion-laughs .docx, a 50 MB .ods of 12,000 sheets);
Python's email package wraps each in a message (office-*.eml).

LibreOffice is slow to start: it runs once per target format, on every
source of that format at once, with a throw-away profile.

Usage: tests/mail/make-office.py OUTPUT_DIR
"""
import os
import subprocess
import sys
import zipfile
from email import policy
from email.message import EmailMessage

OUT = sys.argv[1]
TO = "relais@pdn43.example"
DATE = "Mon, 06 Jan 2025 10:30:00 +0100"

# Several structures' mid-year bilans in one sheet, under a title row, with
# a total row and a date column (read as a serial day in the XLSX).
BILANS_CSV = (
    "Bilans intermédiaires 2025 — réseau Haute-Loire;;;;;\n"
    ";;;;;\n"
    "Structure;Année;Période;Jeunes connectés;Heures en ligne;Date d'envoi\n"
    "CS du Lac;2025;1er semestre;120;12,5;30/06/2025\n"
    "MJC du Plateau;2025;1er semestre;45;4;01/07/2025\n"
    "Total;;;165;16,5;\n"
)

CANDIDATURE_HTML = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<h1>Formulaire de candidature — Promeneurs du Net</h1>
<h2>Structure</h2>
<table border="1">
<tr><td>Nom de la structure</td><td>Foyer des Sucs {n}</td></tr>
<tr><td>Commune :</td><td>Yssingeaux</td></tr>
</table>
<h2>Promeneur</h2>
<p>Prénom : Inès</p>
<p>Nom : Bernard{n}</p>
<p>Courriel : ines{n}@sucs.example</p>
<h2>Candidature</h2>
<p>Motivation : Être présente là où les jeunes se parlent.</p>
<p>Cordialement,</p>
<p>Inès Bernard</p>
</body></html>
"""


def write(name, data):
    path = os.path.join(OUT, name)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def soffice(target, infilter, sources):
    cmd = ["soffice", "--headless", "--norestore",
           "-env:UserInstallation=file://" + os.path.join(OUT, "lo-profile"),
           "--convert-to", target, "--outdir", OUT]
    if infilter:
        cmd.append("--infilter=" + infilter)
    subprocess.run(cmd + sources, check=True, timeout=240,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def zip_bomb(path):
    """A well-formed XLSX whose one sheet inflates to 300 MB of spaces."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook/>')
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            f.write(b'<?xml version="1.0"?><worksheet><sheetData>')
            chunk = b" " * (1 << 20)
            for _ in range(300):
                f.write(chunk)
            f.write(b"</sheetData></worksheet>")


def billion_laughs(path):
    ents = ['<!ENTITY lol "lol">']
    for i in range(1, 10):
        prev = "lol" if i == 1 else "lol%d" % (i - 1)
        ents.append('<!ENTITY lol%d "%s">' % (i, ("&%s;" % prev) * 10))
    doc = ('<?xml version="1.0"?>\n<!DOCTYPE w:document [\n' + "\n".join(ents) +
           ']>\n<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
           '<w:body><w:p><w:r><w:t>Formulaire de candidature &lol9;</w:t></w:r></w:p>'
           '</w:body></w:document>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("word/document.xml", doc)


def big_ods(path):
    """An ODS of 12,000 sheets whose content.xml is about 50 MB."""
    row = ('<table:table-row>' + '<table:table-cell office:value-type="string"><text:p>'
           'ligne de remplissage</text:p></table:table-cell>' * 8 + '</table:table-row>')
    sheet = ''.join(row for _ in range(5))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        with z.open("content.xml", "w", force_zip64=True) as f:
            f.write(b'<?xml version="1.0" encoding="UTF-8"?><office:document-content '
                    b'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
                    b'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
                    b'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0">'
                    b'<office:body><office:spreadsheet>')
            for i in range(12000):
                f.write(('<table:table table:name="F%d">%s</table:table>' % (i, sheet)).encode())
            f.write(b'</office:spreadsheet></office:body></office:document-content>')


def message(name, msgid, sender, subject, text, attachments=(), html=None):
    m = EmailMessage(policy=policy.SMTP)
    m["From"] = sender
    m["To"] = TO
    m["Subject"] = subject
    m["Date"] = DATE
    m["Message-ID"] = "<%s>" % msgid
    m.set_content(text)
    if html:
        m.add_alternative(html, subtype="html")
    for fname, mtype in attachments:
        with open(os.path.join(OUT, fname), "rb") as f:
            data = f.read()
        maintype, subtype = mtype.split("/")
        m.add_attachment(data, maintype=maintype, subtype=subtype, filename=fname)
    write(name, m.as_bytes())


def main():
    os.makedirs(OUT, exist_ok=True)
    write("bilans-2025-s1.csv", BILANS_CSV)
    write("candidature-sucs.html", CANDIDATURE_HTML.format(n=1))
    write("candidature-sucs2.html", CANDIDATURE_HTML.format(n=2))
    # ';' separated, '"' quoted, UTF-8 (76), first line 1, French locale
    # (1036): "12,5" a number, "30/06/2025" a date.
    calc_in = "Text - txt - csv (StarCalc):59,34,76,1,,1036"
    src = [os.path.join(OUT, "bilans-2025-s1.csv")]
    soffice("xlsx:Calc MS Excel 2007 XML", calc_in, src)
    soffice("ods:calc8", calc_in, src)
    soffice("xls:MS Excel 97", calc_in, src)
    soffice("docx:MS Word 2007 XML", "HTML (StarWriter)", [os.path.join(OUT, "candidature-sucs.html")])
    soffice("odt:writer8", "HTML (StarWriter)", [os.path.join(OUT, "candidature-sucs2.html")])

    # What French Excel saves as "CSV (séparateur : point-virgule)".
    write("bilan-excel.csv",
          ("Bilan d'activité 2025;;;;\r\n;;;;\r\nStructure;Année;Période;Jeunes connectés;"
           "Heures en ligne\r\nMJC du Plateau;2025;Bilan annuel;60;7,5\r\n;;;;\r\n;;;;\r\n")
          .encode("cp1252"))
    zip_bomb(os.path.join(OUT, "bombe.xlsx"))
    billion_laughs(os.path.join(OUT, "rires.docx"))
    big_ods(os.path.join(OUT, "enorme.ods"))

    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    ods = "application/vnd.oasis.opendocument.spreadsheet"
    odt = "application/vnd.oasis.opendocument.text"
    lac = "Jeanne Roux <contact@lac.example>"
    message("office-xlsx.eml", "office-xlsx@lac.example", lac, "Bilans du 1er semestre",
            "Bonjour,\n\nVoici nos bilans intermédiaires.\n\nCordialement,\nJeanne\n",
            [("bilans-2025-s1.xlsx", xlsx)])
    message("office-ods.eml", "office-ods@lac.example", lac, "Bilans (LibreOffice)",
            "Bonjour,\nen pièce jointe.\n", [("bilans-2025-s1.ods", ods)])
    message("office-xls.eml", "office-xls@lac.example", lac, "Bilans (ancien Excel)",
            "Bonjour,\nen pièce jointe.\n", [("bilans-2025-s1.xls", "application/vnd.ms-excel")])
    message("office-docx.eml", "office-docx@sucs.example", "Inès <ines1@sucs.example>",
            "Dossier de candidature", "Bonjour,\nvoici mon dossier.\n",
            [("candidature-sucs.docx", docx)])
    message("office-odt.eml", "office-odt@sucs.example", "Inès <ines2@sucs.example>",
            "Dossier de candidature", "Bonjour,\nvoici mon dossier.\n",
            [("candidature-sucs2.odt", odt)])
    message("office-csv.eml", "office-csv@plateau.example", "MJC <mjc@plateau.example>",
            "Bilan annuel", "Bonjour,\nnotre bilan.\n", [("bilan-excel.csv", "text/csv")])
    html = ("<html><body><p>Bonjour, voici notre bilan :</p>"
            "<table><tr><td>Structure</td><td>Année</td><td>Période</td>"
            "<td>Jeunes connectés</td></tr>"
            "<tr><td>MJC du Plateau</td><td>2024</td><td>2e semestre</td><td>1&nbsp;050</td></tr>"
            "</table><p>Cordialement</p></body></html>")
    message("office-html.eml", "office-html@plateau.example", "MJC <mjc@plateau.example>",
            "Bilan du second semestre", "Bonjour, voici notre bilan (tableau).\n", html=html)
    message("office-bomb.eml", "office-bomb@evil.example", "X <x@evil.example>", "Bilan",
            "Voir la pièce jointe.\n", [("bombe.xlsx", xlsx)])
    message("office-laughs.eml", "office-laughs@evil.example", "X <x@evil.example>", "Dossier",
            "Voir la pièce jointe.\n", [("rires.docx", docx)])
    message("office-big.eml", "office-big@evil.example", "X <x@evil.example>", "Tableau",
            "Voir la pièce jointe.\n", [("enorme.ods", ods)])


if __name__ == "__main__":
    main()
