"""`Nguồn`: every file found in the inbox, its SHA-256 and what happened to it; when the inbox
holds mail, who sent each file (a message without a workbook too), its subject and arrival."""

from __future__ import annotations

from typing import Any

from .. import style
from ..codes import STATUS_WORDS
from ..periods import in_vietnam
from .book import DATETIME_FORMAT, Book, Column, report_name
from .rows import Cell, write_cells

HASH_WIDTH = 26
HASH_FONT_SIZE = 9
NOT_ON_ROSTER = "Không có trong danh sách đơn vị"
MAIL_COLUMNS = [Column("Người gửi", 30), Column("Đơn vị của địa chỉ gửi", 24), Column("Tiêu đề thư", 30)]


def write(book: Book, ws: Any) -> None:
    columns = [
        Column("STT", 6),
        Column("Tệp", 36),
        Column("SHA-256", HASH_WIDTH),
        Column("Tình trạng", 13),
        Column("Mã lý do", 21),
        Column("Lý do", 36),
        Column("Báo cáo", 18),
        Column("Mã đơn vị", 12),
        Column("Tên đơn vị", 24),
        Column("Kỳ", 10),
        Column("Thời điểm lưu", 18),
        *([*MAIL_COLUMNS, Column("Thời điểm nhận thư", 18)] if book.r.by_mail else []),
    ]
    files = book.r.files
    header = book.title_rows(
        ws,
        ["NGUỒN SỐ LIỆU", f"{len(files)} tệp trong hộp thư; mỗi tệp một dòng, kèm mã SHA-256"],
        columns,
    )
    book.table(ws, header, columns, last_row=header + len(files), freeze_col=2)
    hash_room = HASH_WIDTH * 12 / HASH_FONT_SIZE  # the hash is written smaller
    center, plain, saved_fmt = (
        book.cell_fmt(align="center"),
        book.cell_fmt(),
        book.cell_fmt(DATETIME_FORMAT),
    )
    wrapped, hash_fmt = book.text_fmt(), book.text_fmt(font_size=HASH_FONT_SIZE)
    names = book.r.unit_names
    for n, (f, mail) in enumerate(zip(files, book.r.envelopes, strict=True), 1):
        row = header + n
        name = f.unit_name or names.get(f.unit_code, "")
        texts = (
            f.path,
            f.sha256,
            STATUS_WORDS.get(f.status, f.status),
            f.reason,
            f.message,
            report_name(f.report_id) if f.report_id else "",
            f.unit_code,
            name,
            f.period,
        )
        cells: list[Cell] = [(0, n, center)]
        cells += [(c, text, hash_fmt if c == 2 else wrapped) for c, text in enumerate(texts, 1)]
        cells.append((10, in_vietnam(f.saved_at), saved_fmt) if f.saved_at else (10, None, plain))
        wraps: list[tuple[str, float]] = [(f.path, 36), (f.sha256, hash_room), (f.message, 36), (name, 24)]
        if mail:
            units = NOT_ON_ROSTER if mail.sender_units == () else ", ".join(mail.sender_units or ())
            cells += [(11, mail.sender, wrapped), (12, units, wrapped), (13, mail.subject, wrapped)]
            cells.append((14, mail.arrived, saved_fmt) if mail.arrived else (14, None, plain))
            wraps += [(mail.sender, 30), (units, 24), (mail.subject, 30)]
        write_cells(ws, row, cells, style.row_height(*wraps))
