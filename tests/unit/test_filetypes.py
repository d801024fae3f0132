import io
import zipfile

import pytest

from server.domain.filetypes import safe_filename, sniff

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


def xlsx(extra: dict | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return buf.getvalue()


@pytest.mark.parametrize("data, kind", [
    (PDF, "pdf"), (PNG, "png"), (b"\xff\xd8\xff\xe0" + b"\0" * 20, "jpeg"),
    (b"RIFF\x10\0\0\0WEBPVP8 " + b"\0" * 8, "webp"), (b"\0\0\0\x18ftypheic" + b"\0" * 8, "heic"),
    (xlsx(), "xlsx"),
])
def test_sniff_recognises_real_files(data, kind):
    assert sniff(data) == kind


def test_sniff_refuses_lies_and_junk():
    assert sniff(b"%PDF-1.7 but nothing else") is None  # a PDF must be whole
    assert sniff(b"<html><script>alert(1)</script></html>") is None
    assert sniff(b"<svg onload=alert(1)>") is None
    assert sniff(b"") is None
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as z:
        z.writestr("a.txt", "hi")
    assert sniff(plain_zip.getvalue()) is None


def test_sniff_refuses_an_xlsx_zip_bomb():
    bomb = xlsx({"xl/sharedStrings.xml": "A" * (50 * 1024 * 1024)})
    assert len(bomb) < 1024 * 1024
    assert sniff(bomb) is None


def test_sniff_html_polyglot_with_pdf_header_is_only_a_pdf_if_whole():
    polyglot = b"%PDF-1.4\n<html><script>x</script></html>"
    assert sniff(polyglot) is None


@pytest.mark.parametrize("name, kind, expected", [
    ("合同 扫描件.pdf", "pdf", "合同 扫描件.pdf"),
    ("../../etc/passwd", "pdf", "passwd.pdf"),
    ("C:\\Users\\x\\photo.PNG", "png", "photo.png"),
    ("evil\x00name\r\n.pdf", "pdf", "evilname.pdf"),
    ("picture.pdf", "png", "picture.png"),
    ("", "xlsx", "file.xlsx"),
    ("...", "jpeg", "file.jpg"),
])
def test_safe_filename(name, kind, expected):
    assert safe_filename(name, kind) == expected
