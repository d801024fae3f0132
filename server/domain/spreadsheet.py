"""An uploaded table (CSV or XLSX) to a header and rows of text, judged by its bytes, not its name.

Pure (bytes in, values out), and careful with what it is given: the upload is size-limited by
the route; here an XLSX (a zip) is refused before openpyxl sees it when its entries would
unpack to more than ``MAX_UNPACKED`` bytes, have too many entries, or carry a DTD (XML entity
expansion). Zip headers can lie about sizes, so the XML entries are read through once, counting
the real bytes, before the workbook is opened.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime

import msgspec

MAX_UPLOAD = 2 * 1024 * 1024
MAX_UNPACKED = 20 * 1024 * 1024
MAX_ENTRIES = 300
MAX_ROWS = 2000
MAX_COLUMNS = 30
_CHUNK = 64 * 1024
_DTD_MARKS = (b"<!DOCTYPE", b"<!ENTITY")


class SheetError(ValueError):
    """An upload that cannot be read: ``status`` for the HTTP answer, ``code`` a stable word, and
    an English sentence (the route translates it by code)."""

    def __init__(self, status: int, code: str, message: str, params: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.params = status, code, message, params or {}


class Sheet(msgspec.Struct, frozen=True, kw_only=True):
    kind: str  # "csv" / "xlsx"
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (row number as the spreadsheet shows it, cells)


def read_sheet(data: bytes) -> Sheet:
    if not data:
        raise SheetError(422, "empty_file", "The file is empty.")
    if len(data) > MAX_UPLOAD:
        raise SheetError(413, "file_too_large", "The file is larger than 2 MB.", {"max_bytes": MAX_UPLOAD})
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(data)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise SheetError(415, "unsupported_file_type",
                         "This is an old Excel (.xls) file; save it as .xlsx or as CSV UTF-8 and upload that.")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SheetError(415, "unsupported_file_type",
                         "This text file is UTF-16; save it as CSV UTF-8 and upload that.")
    if b"\x00" in data[:4096] or data.startswith((b"PK", b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8")):
        raise SheetError(415, "unsupported_file_type", "The file is neither a CSV text file nor an Excel .xlsx workbook.")
    return _read_csv(data)


def _read_csv(data: bytes) -> Sheet:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SheetError(422, "invalid_encoding",
                         "The CSV file is not UTF-8; in Excel choose “CSV UTF-8” when saving, then upload it again.") from None
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count) if any(d in first_line for d in ",;\t") else ","
    try:
        records = list(_limited(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)))
    except csv.Error as exc:
        raise SheetError(422, "invalid_csv", "The CSV file cannot be read: %(reason)s.", {"reason": str(exc)}) from None
    if not records:
        raise SheetError(422, "empty_file", "The file is empty.")
    rows = [(n, [c.strip() for c in record[:MAX_COLUMNS]]) for n, record in enumerate(records[1:], start=2)]
    return Sheet(kind="csv", header=[c.strip() for c in records[0][:MAX_COLUMNS]], rows=_non_blank(rows))


def _limited(records):
    for n, record in enumerate(records):
        if n > MAX_ROWS:
            raise SheetError(413, "too_many_rows", "The file has more than %(max)s rows; split it into smaller files.",
                             {"max": MAX_ROWS})
        yield record


def _non_blank(rows: list[tuple[int, list[str]]]) -> list[tuple[int, list[str]]]:
    return [(n, cells) for n, cells in rows if any(cells)]


def check_zip(data: bytes) -> zipfile.ZipFile:
    """The archive, once its declared and its real unpacked sizes are known to be small."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise SheetError(415, "unsupported_file_type", "The file is not a readable Excel .xlsx workbook.") from None
    too_big = SheetError(413, "archive_too_large",
                         "The workbook unpacks to more than 20 MB (or is built to); it was not opened.",
                         {"max_unpacked_bytes": MAX_UNPACKED})
    if len(entries) > MAX_ENTRIES or sum(e.file_size for e in entries) > MAX_UNPACKED:
        raise too_big
    names = {e.filename for e in entries}
    if "xl/workbook.xml" not in names or "[Content_Types].xml" not in names:
        raise SheetError(415, "unsupported_file_type", "The file is a zip archive but not an Excel .xlsx workbook.")
    total = 0
    for entry in entries:
        try:
            with archive.open(entry) as fh:
                tail = b""
                while chunk := fh.read(_CHUNK):
                    total += len(chunk)
                    if total > MAX_UNPACKED:
                        raise too_big
                    window = tail + chunk
                    if entry.filename.endswith((".xml", ".rels")) and any(m in window for m in _DTD_MARKS):
                        raise SheetError(415, "unsupported_file_type",
                                         "The workbook contains XML declarations Excel never writes; it was not opened.")
                    tail = chunk[-16:]
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError):
            # bad CRC, encrypted or unknown compression
            raise SheetError(415, "unsupported_file_type", "The file is not a readable Excel .xlsx workbook.") from None
    return archive


def _read_xlsx(data: bytes) -> Sheet:
    check_zip(data).close()
    import openpyxl  # only once the archive is known to be small

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises KeyError, ValueError, TypeError… on odd files
        raise SheetError(415, "unsupported_file_type", "The file is not a readable Excel .xlsx workbook.") from None
    try:
        if not book.worksheets:
            raise SheetError(422, "empty_file", "The workbook has no sheet.")
        sheet = book.worksheets[0]
        records = []
        for n, values in enumerate(_limited(sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True)), start=1):
            records.append((n, [_cell(v) for v in values]))
    except SheetError:
        raise
    except Exception:
        raise SheetError(415, "unsupported_file_type", "The file is not a readable Excel .xlsx workbook.") from None
    finally:
        book.close()
    records = _non_blank(records)
    if not records:
        raise SheetError(422, "empty_file", "The file is empty.")
    (_, header), rows = records[0], records[1:]
    return Sheet(kind="xlsx", header=header, rows=rows)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone number typed into a number cell
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()
