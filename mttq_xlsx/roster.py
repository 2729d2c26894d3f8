"""Rosters: the list of units expected to report in a campaign.

A roster is a CSV file with the columns ``code,name,parent_code,kind`` and an optional ``email``
(the addresses a unit sends from, separated by ``;``). It can be written
by hand (or in Excel), or generated from the official two-level administrative list that
took effect in July 2025 (34 provinces, 3,321 communes) shipped by ``vietnam-provinces``.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where needed: only rosters made from the official list need it
    from vietnam_provinces import Province, Ward

from .errors import RosterError
from .output import atomic_path, reason

__all__ = [
    "COLUMNS",
    "Unit",
    "all_communes",
    "by_email",
    "clean_text",
    "name_key",
    "official_unit",
    "province_units",
    "read_roster",
    "strip_diacritics",
    "write_roster",
]

COLUMNS: tuple[str, ...] = ("code", "name", "parent_code", "kind", "email")
WRITTEN_COLUMNS = COLUMNS[:4]  # email only when some unit has an address
REQUIRED_COLUMNS: tuple[str, ...] = ("code", "name")

_KIND_BY_DIVISION_TYPE: dict[str, str] = {  # vietnam_provinces.VietNamDivisionType member names
    "XA": "xa",
    "PHUONG": "phuong",
    "DAC_KHU": "dac_khu",
}

# Prefixes a user may put before a province name ("Tỉnh Lạng Sơn", "TP. Hồ Chí Minh"),
# matched on the diacritic-free, lower-case form.
_PROVINCE_PREFIX_RE = re.compile(r"^(?:tinh\s+|thanh pho\s+|tp\.?\s*)")
# Common abbreviations (diacritic-free key, after the prefix is removed) -> province code.
_PROVINCE_ALIASES: dict[str, int] = {"hcm": 79, "sai gon": 79}
_SAVE_AS_HINT = (
    "Hãy mở tệp trong Excel, chọn “Lưu thành” (Save As), chọn kiểu “CSV UTF-8 (Comma delimited)” rồi thử lại."
)
_HEADER_HINT = (
    "Dòng đầu tiên của tệp phải là dòng tiêu đề có các cột code,name "
    "(các cột parent_code,kind,email không bắt buộc), ví dụ: code,name,parent_code,kind,email."
)


@dataclass(frozen=True)
class Unit:
    """One unit expected to report."""

    code: str
    name: str
    parent_code: str  # "" for none
    kind: str  # e.g. "tinh", "xa", "phuong", "dac_khu", "huyen", "to_chuc"; lower-case ascii
    emails: tuple[str, ...] = ()  # the addresses it sends reports from, lower case


def by_email(units: Iterable[Unit]) -> dict[str, list[Unit]]:
    """Each address of the roster's `email` column -> the units that send from it, in roster order."""
    found: dict[str, list[Unit]] = {}
    for unit in units:
        for address in unit.emails:
            found.setdefault(address, []).append(unit)
    return found


def strip_diacritics(text: str) -> str:
    """Remove Vietnamese diacritics: "Lạng Sơn" -> "Lang Son", "Đồng Đăng" -> "Dong Dang"."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    kept = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", kept)


def name_key(text: str) -> str:
    """Diacritic-free, lower-case, single-spaced form used to compare names (of provinces, units)."""
    plain = strip_diacritics(unicodedata.normalize("NFC", text)).lower()
    return " ".join(plain.replace("_", " ").replace("-", " ").split())


def _province_key(text: str) -> str:
    """Like `name_key`, without a leading "tỉnh" / "thành phố" / "TP."."""
    return _PROVINCE_PREFIX_RE.sub("", name_key(text), count=1).strip()


def _kind_key(text: str) -> str:
    """Normalise a free-text kind to lower-case ascii: "Đặc khu" -> "dac_khu"."""
    return "_".join(name_key(text).split())


@lru_cache(maxsize=1)
def _provinces() -> tuple[Province, ...]:
    from vietnam_provinces import Province

    return tuple(sorted(Province.iter_all(), key=lambda p: int(p.code)))


@lru_cache(maxsize=1)
def _province_by_key() -> dict[str, Province]:
    return {_province_key(p.name): p for p in _provinces()}


@lru_cache(maxsize=1)
def _communes_by_province() -> dict[int, tuple[Unit, ...]]:
    from vietnam_provinces import Ward

    grouped: dict[int, list[Ward]] = {}
    for ward in Ward.iter_all():
        grouped.setdefault(int(ward.province_code), []).append(ward)
    return {
        province_code: tuple(
            Unit(
                code=f"{int(ward.code):05d}",  # official codes are zero-padded
                name=unicodedata.normalize("NFC", ward.name),
                parent_code=f"{province_code:02d}",
                kind=_KIND_BY_DIVISION_TYPE.get(ward.division_type.name)
                or _kind_key(ward.division_type.value),
            )
            for ward in sorted(wards, key=lambda w: int(w.code))
        )
        for province_code, wards in grouped.items()
    }


@lru_cache(maxsize=1)
def _all_communes() -> tuple[Unit, ...]:
    units = [unit for group in _communes_by_province().values() for unit in group]
    return tuple(sorted(units, key=lambda u: int(u.code)))


def _find_province(province: str) -> Province:
    text = unicodedata.normalize("NFC", province).strip()
    if text.isascii() and text.isdigit():
        for candidate in _provinces():
            if int(candidate.code) == int(text):
                return candidate
    else:
        key = _province_key(text)
        by_key = _province_by_key()
        found = by_key.get(key)
        if found is not None:
            return found
        if key in _PROVINCE_ALIASES:
            from vietnam_provinces import Province

            return Province.from_code(_PROVINCE_ALIASES[key])  # type: ignore[arg-type]
        import difflib  # only to suggest a province's name

        close = difflib.get_close_matches(key, list(by_key), n=3) if key else []
        if close:
            names = ", ".join(by_key[k].name for k in close)
            raise RosterError(
                f"Không tìm thấy tỉnh/thành phố “{province}”. Có phải: {names}? "
                "Hãy nhập lại đúng tên tỉnh/thành phố hoặc mã số của tỉnh/thành phố."
            )
    raise RosterError(
        f"Không tìm thấy tỉnh/thành phố “{province}”. Hãy nhập tên tỉnh/thành phố "
        "(ví dụ “Lạng Sơn”) hoặc mã số (ví dụ “20”) của một trong 34 tỉnh/thành phố "
        "từ tháng 7/2025."
    )


def province_units(province: str) -> list[Unit]:
    """The communes (xã, phường, đặc khu) of one province, sorted by code.

    `province` is a name with or without diacritics, in any case, with or without
    "Tỉnh"/"Thành phố" ("Lạng Sơn", "lang son", "Thành phố Hà Nội"), or the numeric
    code ("20"). The province itself is not in the list; each commune has
    ``parent_code`` = the province code. Codes are the package's numeric codes as
    decimal strings without padding, and the list is sorted numerically.
    """
    found = _find_province(province)
    return list(_communes_by_province().get(int(found.code), ()))


def all_communes() -> list[Unit]:
    """All communes of the country (parent_code = province code), sorted by code."""
    return list(_all_communes())


def official_unit(code: str) -> Unit | None:
    """The province (a code of one or two digits, "20") or commune ("05977") of the official list
    with this code, named as in official documents ("Tỉnh Lạng Sơn"); None when there is none."""
    text = code.strip()
    if not (text.isascii() and text.isdigit()):
        return None
    if len(text) <= 2:
        for p in _provinces():
            if int(p.code) == int(text):
                name = unicodedata.normalize("NFC", p.name)
                if p.division_type.name == "TINH":
                    return Unit(f"{int(p.code):02d}", f"Tỉnh {name}", "", "tinh")
                return Unit(f"{int(p.code):02d}", name, "", "thanh_pho")
        return None
    return next((u for u in _all_communes() if int(u.code) == int(text)), None)


_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ufffe\uffff]")


def clean_text(value: str) -> str:
    """A code or name as it is shown and written: NFC, single spaces, no control characters
    (they would make the summary's links and sheet names invalid XML)."""
    return " ".join(_INVISIBLE.sub(" ", unicodedata.normalize("NFC", value)).split())


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise RosterError(
            f"Không tìm thấy tệp danh sách đơn vị “{path}”. Hãy kiểm tra lại đường dẫn."
        ) from None
    except IsADirectoryError:
        raise RosterError(
            f"“{path}” là một thư mục, không phải tệp CSV. Hãy chỉ ra tệp danh sách đơn vị."
        ) from None
    except OSError as exc:
        raise RosterError(
            f"Không đọc được tệp “{path}” ({reason(exc)}). Hãy kiểm tra quyền truy cập, "
            "hoặc đóng tệp nếu đang mở trong Excel, rồi thử lại."
        ) from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise RosterError(
            f"Tệp “{path}” không được lưu bằng mã UTF-8 (lỗi ở dòng {line}), nên chữ tiếng "
            f"Việt sẽ bị sai. {_SAVE_AS_HINT}"
        ) from None


def _sniff_delimiter(text: str) -> str:
    """Excel with Vietnamese regional settings may save CSV with ";" instead of ","."""
    for line in text.splitlines():
        if line.strip():
            return ";" if line.count(";") > line.count(",") else ","
    return ","


def read_roster(path: Path) -> list[Unit]:
    """Read a roster CSV (UTF-8, with or without BOM).

    The header must contain ``code`` and ``name``; ``parent_code``, ``kind`` and ``email`` are
    optional (missing -> ""); ``email`` holds addresses separated by ``;``. Other columns are
    ignored. Blank lines are skipped; values are stripped and NFC-normalised; ``kind`` is
    normalised to lower-case ascii.
    """
    path = Path(path)
    text = _read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text))
    units: list[Unit] = []
    first_line_of: dict[str, int] = {}
    columns: dict[str, int] | None = None
    try:
        row_start = 1
        for row in reader:
            line = row_start
            row_start = reader.line_num + 1
            values = [clean_text(v) for v in row]
            if not any(values):
                continue
            if columns is None:
                columns = _parse_header(values, path)
                continue

            record = _record(values, columns)
            code, name = record["code"], record["name"]
            if not code:
                raise RosterError(
                    f"Tệp “{path}”, dòng {line}: thiếu mã đơn vị (cột code). "
                    "Hãy điền mã cho đơn vị này hoặc xoá dòng."
                )
            if not name:
                raise RosterError(
                    f"Tệp “{path}”, dòng {line}: đơn vị mã “{code}” thiếu tên (cột name). "
                    "Hãy điền tên đơn vị hoặc xoá dòng."
                )
            if code in first_line_of:
                raise RosterError(
                    f"Tệp “{path}”: mã đơn vị “{code}” bị trùng ở dòng {first_line_of[code]} "
                    f"và dòng {line}. Mỗi đơn vị phải có một mã riêng; hãy sửa hoặc xoá "
                    "một trong hai dòng."
                )
            first_line_of[code] = line
            emails = _emails(record["email"], path, line, code)
            units.append(Unit(code, name, record["parent_code"], _kind_key(record["kind"]), emails))
    except csv.Error as exc:  # the csv module's words are English: say what they mean
        why = "có ô quá dài" if "field limit" in str(exc) else "dấu ngoặc kép không khớp"
        raise RosterError(
            f"Tệp “{path}”, dòng {reader.line_num}: không đọc được định dạng CSV ({why}). {_SAVE_AS_HINT}"
        ) from exc
    if columns is None:
        raise RosterError(f"Tệp “{path}” trống. {_HEADER_HINT}")
    return units


_ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")


def _emails(cell: str, path: Path, line: int, code: str) -> tuple[str, ...]:
    """The addresses of an `email` cell: separated by ";" (or ","), lower case, each checked."""
    found = tuple(a.strip().lower() for a in re.split(r"[;,]", cell) if a.strip())
    for address in found:
        if not _ADDRESS.match(address):
            raise RosterError(
                f"Tệp “{path}”, dòng {line}: địa chỉ thư “{address}” của đơn vị mã “{code}” không hợp lệ "
                "(cột email). Hãy ghi mỗi địa chỉ dạng ten@mien.vn, cách nhau bằng dấu chấm phẩy (;)."
            )
    return found


def _record(values: list[str], columns: dict[str, int]) -> dict[str, str]:
    """Map every known column to its value in one row ("" if the column or cell is absent)."""
    return {
        column: values[columns[column]] if column in columns and columns[column] < len(values) else ""
        for column in COLUMNS
    }


def _parse_header(values: list[str], path: Path) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, value in enumerate(values):
        column = value.lower()
        if column in COLUMNS:
            if column in columns:
                raise RosterError(
                    f"Tệp “{path}”: cột “{column}” xuất hiện hai lần ở dòng tiêu đề. "
                    "Hãy xoá hoặc đổi tên một cột."
                )
            columns[column] = index
    for column in REQUIRED_COLUMNS:
        if column not in columns:
            raise RosterError(f"Tệp “{path}” thiếu cột “{column}”. {_HEADER_HINT}")
    return columns


def write_roster(units: Iterable[Unit], path: Path) -> None:
    """Write a roster CSV: UTF-8 with BOM (for Excel), CRLF line ends, atomically."""
    path = Path(path)
    rows = list(units)
    seen: set[str] = set()
    for unit in rows:
        if not unit.code.strip() or not unit.name.strip():
            raise RosterError(
                f"Không thể ghi “{path}”: có đơn vị thiếu mã hoặc tên ({unit!r}). "
                "Hãy bổ sung mã và tên cho mọi đơn vị."
            )
        if unit.code in seen:
            raise RosterError(
                f"Không thể ghi “{path}”: mã đơn vị “{unit.code}” bị trùng. Mỗi đơn vị phải có một mã riêng."
            )
        seen.add(unit.code)

    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        with_email = any(unit.emails for unit in rows)
        writer.writerow(COLUMNS if with_email else WRITTEN_COLUMNS)
        for unit in rows:
            row = [unit.code, unit.name, unit.parent_code, unit.kind]
            writer.writerow([*row, ";".join(unit.emails)] if with_email else row)
