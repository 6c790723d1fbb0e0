"""A question mail carrying one attachment of each kind the console's viewer knows,
and the small files in it: a hand-written PDF, a PNG, text with markup, SVG."""

from __future__ import annotations

from email.message import EmailMessage

from consultant.web.pdfpages import encode_png

SCRIPT_TEXT = "Op note: <script>alert('text')</script> 27447 right knee\n"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
BROKEN_PDF = b"%PDF-1.4\nthis is not a PDF any renderer can read\n%%EOF\n"
BINARY = b"\x00\x01\x02 a file the console only offers for download"
# The attachments of `question_with_attachments`, in order.
NAMES = ("op-note.pdf", "knee.png", "op-note.txt", "drawing.svg", "broken.pdf", "data.bin")


def tiny_pdf(pages: int, text: str = "Operative note") -> bytes:
    """A valid PDF of `pages` pages, each saying `text` and its number (Helvetica)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{3 + 2 * n} 0 R" for n in range(pages))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode())
    font = 3 + 2 * pages
    for n in range(pages):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * n} 0 R "
            f"/Resources << /Font << /F1 {font} 0 R >> >> >>".encode()
        )
        stream = f"BT /F1 36 Tf 72 680 Td ({text} {n + 1}) Tj ET".encode()
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref, size = len(out), len(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref)
    return bytes(out)


def tiny_png(width: int = 40, height: int = 30) -> bytes:
    """A red PNG."""
    return encode_png(width, height, width * 3, b"\xd0\x20\x20" * width * height)


def question_with_attachments(tag: str = "attach", pdf_pages: int = 3) -> EmailMessage:
    """A question with NAMES attached in that order; the PNG is declared octet-stream and
    the text is latin-1 in base64, so the viewer has to read the bytes and the charset."""
    mail = EmailMessage()
    mail["From"] = "Dana Biller <dana.biller@example-clinic.org>"
    mail["To"] = "consult@localhost"
    mail["Subject"] = "Op note for 27447"
    mail["Message-ID"] = f"<{tag}@example-clinic.org>"
    mail.set_content("Can I bill 27447 with 20700? Op note attached.")
    add = mail.add_attachment
    add(tiny_pdf(pdf_pages), maintype="application", subtype="pdf", filename=NAMES[0])
    add(tiny_png(), maintype="application", subtype="octet-stream", filename=NAMES[1])
    text = SCRIPT_TEXT.replace("right", "dérecha").encode("latin-1")
    add(text, maintype="text", subtype="plain", params={"charset": "latin-1"}, filename=NAMES[2])
    add(SVG, maintype="image", subtype="svg+xml", filename=NAMES[3])
    add(BROKEN_PDF, maintype="application", subtype="pdf", filename=NAMES[4])
    add(BINARY, maintype="application", subtype="octet-stream", filename=NAMES[5])
    return mail
