"""Deciding a file's type by its bytes, never by its name or Content-Type.

A PNG renamed .pdf is a PNG. A PDF must look like a whole PDF (header,
objects, end-of-file marker); an XLSX must be a real, not over-compressed,
Office Open XML workbook (zip bombs are refused).
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "heic": "image/heic",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
EXTENSIONS = {"pdf": "pdf", "jpeg": "jpg", "png": "png", "webp": "webp", "heic": "heic", "xlsx": "xlsx"}
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
MAX_UNZIPPED = 100 * 1024 * 1024
MAX_RATIO = 100


def _is_pdf(data: bytes) -> bool:
    if not re.match(rb"%PDF-[12]\.\d", data[:1024].lstrip()[:8]):
        return False
    tail = data[-2048:]
    return b"%%EOF" in tail and re.search(rb"\d+\s+\d+\s+obj\b", data) is not None


def _is_xlsx(data: bytes) -> bool:
    if not data.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            names = {i.filename for i in infos}
            total = sum(i.file_size for i in infos)
            if total > MAX_UNZIPPED or total > MAX_RATIO * max(len(data), 1):
                return False
            return "[Content_Types].xml" in names and "xl/workbook.xml" in names
    except (zipfile.BadZipFile, ValueError, OSError):
        return False


def sniff(data: bytes) -> str | None:
    """The file type key (pdf, jpeg, png, webp, heic, xlsx) the bytes really are, or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "heic"
    if _is_pdf(data):
        return "pdf"
    if _is_xlsx(data):
        return "xlsx"
    return None


def safe_filename(name: str | None, kind: str) -> str:
    """A display name without paths or control characters, with the extension of the real type."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in unicodedata.normalize("NFC", base) if unicodedata.category(ch)[0] != "C")
    base = base.strip().strip(".")
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = stem[:120] or "file"
    return f"{stem}.{EXTENSIONS[kind]}"
