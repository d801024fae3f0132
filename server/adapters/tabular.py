"""Spreadsheet exports: CSV with a UTF-8 BOM (so Excel opens Chinese headers correctly) and XLSX (openpyxl).

Both are produced in chunks for a streamed response; XLSX is written in openpyxl's write-only mode.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Iterable, Iterator

CHUNK_ROWS = 500


def _cell(value):
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return value


def csv_chunks(headers: list[str], rows: Iterable[list]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def take() -> bytes:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text.encode("utf-8")

    writer.writerow(headers)
    yield "\ufeff".encode("utf-8") + take()
    for n, row in enumerate(rows, 1):
        writer.writerow(["" if v is None else _cell(v) for v in row])
        if n % CHUNK_ROWS == 0:
            yield take()
    tail = take()
    if tail:
        yield tail


def xlsx_bytes(title: str, headers: list[str], rows: Iterable[list]) -> Iterator[bytes]:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    sheet.append(headers)
    for row in rows:
        sheet.append([_cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    data = out.getvalue()
    for start in range(0, len(data), 64 * 1024):
        yield data[start:start + 64 * 1024]
