"""What a file is when it is neither a zip (xlsx, xlsm, xlsb, ods) nor an OLE file (xls): an Excel
format older than Excel 97, a spreadsheet saved as XML, a web page or plain text named like a
workbook. Each opens in Excel or LibreOffice and can be saved again as .xlsx; random bytes cannot.
"""

from __future__ import annotations

import codecs
import re
import struct

SAVE_AS_XLSX = "Hãy mở tệp bằng Excel hoặc LibreOffice, lưu lại thành .xlsx (Tệp ▸ Lưu thành…) rồi gửi lại."
# the BOF record that starts a bare BIFF stream, as Excel 2.x to 4.0 saved a worksheet
_OLD_EXCEL = {0x0009: "Excel 2.x", 0x0209: "Excel 3.0", 0x0409: "Excel 4.0"}
_CONTROL = re.compile(
    rb"[\x00-\x08\x0b\x0e-\x19\x1b-\x1f\x7f]"
)  # what text does not hold (DOS ends it with \x1a)
_SPREADSHEET_ML = "urn:schemas-microsoft-com:office:spreadsheet"


def unsupported(data: bytes) -> str:
    """The Vietnamese reason for a file in a format that is not read, or '' when its format is
    nothing known (random or damaged bytes)."""
    what = _format(data)
    if not what:
        return ""
    return (
        f"Tệp được lưu ở định dạng {what}, chương trình không đọc được định dạng này (chỉ đọc .xlsx, "
        f".xlsm, .xlsb, .xls từ Excel 97 trở đi và .ods). {SAVE_AS_XLSX}"
    )


def _format(data: bytes) -> str:
    if len(data) >= 4:
        record, size = struct.unpack_from("<HH", data)
        if record in _OLD_EXCEL and 4 <= size <= 16:
            return f"{_OLD_EXCEL[record]} (cũ hơn Excel 97)"
    text = _text(data[:4096])
    if text is None:
        return ""
    start = text.lstrip().lower()
    if _SPREADSHEET_ML in text:
        return "bảng tính XML của Excel 2003"
    if start.startswith("mime-version:"):
        return "trang web lưu trữ (MHTML)"
    if start.startswith(("<!doctype html", "<html", "<table")) or "<html" in start[:1024]:
        return "trang web (HTML)"
    return "văn bản (CSV hoặc TXT)"


def _text(head: bytes) -> str | None:
    """The start of the file as text, or None when it is not text."""
    for bom, codec in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if head.startswith(bom):
            text = head[len(bom) : len(head) - len(head) % 2].decode(codec, "replace")
            return None if _CONTROL.search(text.encode("utf-8", "replace")) else text
    if not head or _CONTROL.search(head):
        return None
    return head.decode("utf-8", "replace")  # a Windows code page shows as replacement characters
