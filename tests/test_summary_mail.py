"""The summary of a mailbox: `Tiến độ` shows when each unit's mail arrived (a unit that sent a
message without its workbook too), `Nguồn` who sent each file, from which unit's address, with what
subject and when; a folder's summary has none of these columns."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

import mttq_xlsx
from mttq_xlsx.consolidation import Consolidation
from mttq_xlsx.periods import VIETNAM
from mttq_xlsx.roster import Unit, read_roster
from tests.mail_helpers import ADDRESS, CAO_LOC, INBOX, LANG_SON, MBOX, ROSTER, mail, unit, vn, write_mbox
from tools import sample_plan as plan

PROGRESS_MAIL = ["Thời điểm lưu", "Thời điểm nhận thư"]
SOURCES_MAIL = ["Thời điểm lưu", "Người gửi", "Đơn vị của địa chỉ gửi", "Tiêu đề thư", "Thời điểm nhận thư"]


def _table(ws: Any) -> tuple[list[Any], list[list[Any]]]:
    """The header row (the one that starts with STT) and the rows under it."""
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    at = next(i for i, r in enumerate(rows) if r[0] == "STT")
    return rows[at], rows[at + 1 :]


def _summary(result: Consolidation, tmp_path: Path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(mttq_xlsx.write_summary(result, tmp_path / "tong-hop.xlsx"))


def _wall_clock(moment: datetime | None) -> datetime | None:
    """A moment as the summary shows it: the clock in Vietnam, without a zone."""
    return moment.astimezone(VIETNAM).replace(tzinfo=None) if moment else None


@pytest.fixture(scope="module")
def mailed() -> Consolidation:
    return mttq_xlsx.consolidate(MBOX, roster=ROSTER, period="2024-6T", deadline=date(2024, 6, 10))


def test_progress_shows_when_each_units_mail_arrived(mailed: Consolidation, tmp_path: Path) -> None:
    header, rows = _table(_summary(mailed, tmp_path)["Tiến độ"])
    assert header[-2:] == PROGRESS_MAIL
    by_code = {r[1]: r for r in rows}
    for sub in mailed.submissions:
        arrived = by_code[sub.unit_code][8]
        assert arrived == _wall_clock(sub.file.source.received_at) and arrived is not None
    # Gmail's mbox From_ lines are UTC: the sheet shows the time in Vietnam
    dinh_lap = by_code["189"]
    assert (dinh_lap[5], dinh_lap[8]) == ("Nộp muộn", datetime(2024, 6, 12, 8, 31))
    assert dinh_lap[6] == "hop-thu.mbox › 2024-06-12 08:31 mttq.dinhlap@gmail.com › Dinh Lap bao cao 6T.xlsx"
    assert by_code["181"][8] == datetime(2024, 6, 6, 15, 24)  # Bình Gia's zip, attached


def test_a_unit_whose_mail_came_without_its_workbook_shows_that_mail(tmp_path: Path) -> None:
    """Cao Lộc sent its workbook; Lạng Sơn wrote "xin gửi báo cáo" twice and forgot the file: it has
    not reported, and Tiến độ says when its last mail came and which it was."""
    box = write_mbox(
        tmp_path / "hop-thu.mbox",
        [
            (vn(2024, 6, 5, 14, 41), mail(unit("183"), vn(2024, 6, 5, 14, 41), [("Cao Lộc.xlsx", CAO_LOC)])),
            (vn(2024, 6, 9, 7, 5), mail(unit("178"), vn(2024, 6, 9, 7, 5), subject="Gửi báo cáo")),
            (vn(2024, 6, 9, 9, 30), mail(unit("178"), vn(2024, 6, 9, 9, 30), subject="Gửi lại báo cáo")),
        ],
    )
    result = mttq_xlsx.consolidate(box, roster=ROSTER, period="2024-6T")
    header, rows = _table(_summary(result, tmp_path)["Tiến độ"])
    assert header[-1] == "Thời điểm nhận thư"
    by_code = {r[1]: r for r in rows}
    assert by_code["178"][4:9] == [
        "Chưa nộp",
        None,
        f"hop-thu.mbox › 2024-06-09 09:30 {ADDRESS['178']}",
        None,
        datetime(2024, 6, 9, 9, 30),
    ]
    assert by_code["183"][4] == "Đã nộp" and by_code["183"][8] == datetime(2024, 6, 5, 14, 41)
    assert by_code["180"][4:9] == ["Chưa nộp", None, None, None, None]  # no mail from Tràng Định


def test_sources_show_sender_their_unit_subject_and_arrival(mailed: Consolidation, tmp_path: Path) -> None:
    header, rows = _table(_summary(mailed, tmp_path)["Nguồn"])
    assert header[10:] == SOURCES_MAIL
    assert len(rows) == len(mailed.files)
    for row, record in zip(rows, mailed.files, strict=True):
        assert row[1] == record.path
        assert (row[11], row[13]) == (record.source.sender, record.source.subject or None)
        assert row[14] == _wall_clock(record.source.received_at)
    by_sender = {r[11]: r for r in rows}
    # a sender whose address the roster does not give: listed, with who it is
    stranger = by_sender["Nguyễn Văn Bình <nguyenbinh.hoagiai@gmail.com>"]
    assert stranger[3:5] == ["Bị loại", "not_a_template"]
    assert (stranger[12], stranger[13]) == ("Không có trong danh sách đơn vị", "Danh sách tổ hòa giải")
    # Cao Lộc sends from its office's second address, which the roster also gives it
    cao_loc = by_sender["MTTQ Huyện Cao Lộc <vanphong.mttqcaoloc@gmail.com>"]
    assert cao_loc[12] == "Huyện Cao Lộc"
    # the message Đình Lập sent without its workbook is a row of its own, with its sender
    [forgot] = [r for r in rows if r[4] == "no_attachment"]
    assert forgot[1] == "hop-thu.mbox › 2024-06-11 21:07 mttq.dinhlap@gmail.com"
    assert forgot[11:15] == [
        "MTTQ Huyện Đình Lập <mttq.dinhlap@gmail.com>",
        "Huyện Đình Lập",
        "Báo cáo 6 tháng - Đình Lập",
        datetime(2024, 6, 11, 21, 7),
    ]


def test_without_addresses_in_the_roster_no_sender_is_called_unknown(tmp_path: Path) -> None:
    plain = [Unit(u.code, u.name, u.parent_code, u.kind) for u in read_roster(ROSTER)]
    result = mttq_xlsx.consolidate(MBOX, roster=plain, period="2024-6T")
    header, rows = _table(_summary(result, tmp_path)["Nguồn"])
    assert header[12] == "Đơn vị của địa chỉ gửi"
    assert {r[12] for r in rows} == {None}
    assert all(r[11] for r in rows)  # every sender still shown


def test_a_folder_inbox_has_no_mail_columns(tmp_path: Path) -> None:
    result = mttq_xlsx.consolidate(INBOX, roster=ROSTER, period="2024-6T")
    book = _summary(result, tmp_path)
    assert _table(book["Tiến độ"])[0][-1] == "Thời điểm lưu"
    assert _table(book["Nguồn"])[0][-1] == "Thời điểm lưu"


def test_a_saved_message_in_a_folder_brings_the_mail_columns(tmp_path: Path) -> None:
    folder = tmp_path / "hop-thu"
    folder.mkdir()
    (folder / "Lạng Sơn.eml").write_bytes(mail(unit("178"), vn(2024, 6, 4, 16, 52), [("bc.xlsx", LANG_SON)]))
    result = mttq_xlsx.consolidate(folder, roster=ROSTER, period="2024-6T")
    header, rows = _table(_summary(result, tmp_path)["Nguồn"])
    assert header[10:] == SOURCES_MAIL
    assert rows[0][1] == "Lạng Sơn.eml › bc.xlsx" and rows[0][12] == "Thành phố Lạng Sơn"
    assert rows[0][14] == datetime(2024, 6, 4, 16, 52)  # its top Received: header


def test_saved_times_are_shown_in_vietnam_time(tmp_path: Path) -> None:
    """An .xls keeps its saved time in UTC; the sheets show every time as the clock in Vietnam
    showed it when the unit saved (the plan's time), next to the mail's arrival."""
    result = mttq_xlsx.consolidate(INBOX, roster=ROSTER, period="2024-6T")
    book = _summary(result, tmp_path)
    _, rows = _table(book["Nguồn"])
    shown = {r[1]: r[10] for r in rows}
    planned = {s.path: s.saved_at for s in plan.template_files() if s.saved_at}
    assert any(p.endswith(".xls") for p in planned)
    for path, saved in planned.items():
        assert shown[path] == saved.astimezone(VIETNAM).replace(tzinfo=None), path
    _, progress = _table(book["Tiến độ"])
    van_quan = next(r for r in progress if r[1] == "184")
    assert van_quan[7] == datetime(2024, 6, 7, 16, 55)  # was 09:55, its UTC time
