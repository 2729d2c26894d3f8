"""Mail in the inbox (mttq_xlsx/mailboxes.py, messages.py): saved .eml messages in a folder, an mbox,
a Maildir. Each attachment is a submission with its envelope; messages are written as Gmail,
Outlook, Thunderbird, Apple Mail and a webmail send them, around workbooks real LibreOffice saved
(samples/inbox)."""

from __future__ import annotations

import json
import os
import unicodedata
from datetime import date, datetime, timedelta
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.parser import Parser
from email.utils import parseaddr
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mttq_xlsx import Consolidation, Options, check, consolidate, messages, mime, model
from mttq_xlsx.cli import main
from mttq_xlsx.codes import (
    ACCEPTED,
    IGNORED,
    NO_ATTACHMENT,
    RECEIVED_TIME_UNKNOWN,
    REJECTED,
    SENDER_MISMATCH,
    SUPERSEDED,
)
from mttq_xlsx.intake import NOT_READ
from mttq_xlsx.json_report import json_report_dict
from mttq_xlsx.mailboxes import MailAccess, from_line_time, kind
from mttq_xlsx.messages import MAX_ATTACHMENT, clean_name
from mttq_xlsx.model import Source
from mttq_xlsx.periods import parse_period
from mttq_xlsx.roster import clean_text, read_roster
from mttq_xlsx.workers import Limits
from tests.mail_helpers import (
    ADDRESS,
    BAC_SON,
    BROKEN,
    CAO_LOC,
    HUU_LUNG_NEW,
    HUU_LUNG_OLD,
    LANG_SON,
    LOC_BINH,
    ROSTER,
    SAMPLES,
    VAN_QUAN,
    mail,
    unit,
    vn,
    write_maildir,
    write_mbox,
)
from tools import sample_mail
from tools.sample_mail import zipped

PERIOD = parse_period("2024-6T")
DEADLINE = PERIOD.deadline  # 10/6/2024
LONG_NAME = "Báo cáo Đông Kinh 6 tháng đầu năm 2024 (bản chính thức, đã ký).xlsx"


def run(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def files_of(result: Consolidation) -> dict[str, tuple[str, str]]:
    return {f.path: (f.status, f.reason) for f in result.files}


def options(**kw: object) -> Options:
    return Options(period=PERIOD, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def roster() -> tuple:
    return tuple(read_roster(ROSTER))


# ---------------------------------------------------------------------- names, as clients write them
@pytest.mark.parametrize("style", ["gmail", "outlook", "thunderbird", "apple", "raw"])
def test_every_way_a_client_names_an_attachment(tmp_path: Path, style: str) -> None:
    """Outlook's encoded words in quotes (split over folded lines), Thunderbird's RFC 2231 with
    continuations, Apple's inline disposition, a webmail's raw UTF-8: one name, NFC, intact."""
    folder = tmp_path / "hop-thu"
    folder.mkdir()
    raw = mail(
        unit("183", "Văn phòng MTTQ Cao Lộc"), vn(2024, 6, 5, 14, 41), [(LONG_NAME, CAO_LOC)], style=style
    )
    (folder / "thư Cao Lộc.eml").write_bytes(raw)
    result = consolidate(folder, options())
    [record] = result.files
    assert record.path == f"thư Cao Lộc.eml › {LONG_NAME}"
    assert (record.status, record.unit_code) == (ACCEPTED, "183")
    source = record.source.as_dict()
    assert source == {
        "kind": "mail",
        "message_id": source["message_id"],
        "sender": f"Văn phòng MTTQ Cao Lộc <{ADDRESS['183']}>",
        "subject": "Báo cáo 6 tháng đầu năm 2024",
        "received_at": source["received_at"],
        "attachment": LONG_NAME,
    }
    assert source["message_id"].startswith("<") and source["message_id"].endswith("@mail.gmail.com>")
    assert record.source.received_at == vn(2024, 6, 5, 14, 41)  # the top Received: header of the .eml
    assert unicodedata.is_normalized("NFC", record.path)


def test_a_name_written_decomposed_is_shown_composed(tmp_path: Path) -> None:
    decomposed = unicodedata.normalize("NFD", "Báo cáo Lộc Bình.ods")
    assert decomposed != "Báo cáo Lộc Bình.ods"
    raw = mail(unit("188"), vn(2024, 6, 10, 16, 41), [(decomposed, LOC_BINH)], style="raw")
    write_mbox(tmp_path / "hop-thu.mbox", [(vn(2024, 6, 10, 16, 41), raw)])
    [record] = consolidate(tmp_path / "hop-thu.mbox", options()).files
    assert record.source.attachment == "Báo cáo Lộc Bình.ods"
    assert record.path.endswith(" › Báo cáo Lộc Bình.ods") and record.status == ACCEPTED


@pytest.mark.parametrize(
    ("sent_as", "shown"),
    [
        ("../../etc/cron.d/Báo cáo.xlsx", "Báo cáo.xlsx"),
        ("C:\\Users\\Mai\\Desktop\\Báo cáo.xlsx", "Báo cáo.xlsx"),
        ("CON.xlsx", "_CON.xlsx"),
        ("lpt1", "_lpt1"),
        ("Báo\x07 cáo\x1b.xlsx", "Báo cáo.xlsx"),
        ('Báo cáo: "bản cuối"?.xlsx', "Báo cáo_ _bản cuối__.xlsx"),
        ("..", "tệp đính kèm"),
        ("  .xlsx.  ", "xlsx"),
    ],
)
def test_attachment_names_are_cleaned(sent_as: str, shown: str) -> None:
    assert clean_name(sent_as) == shown


def test_a_hostile_name_is_shown_cleaned_and_the_workbook_read(tmp_path: Path) -> None:
    raw = mail(unit("178"), vn(2024, 6, 4, 16, 52), [("..\\..\\AUX.xlsx", LANG_SON)], style="raw")
    write_mbox(tmp_path / "hop-thu.mbox", [(vn(2024, 6, 4, 16, 52), raw)])
    [record] = consolidate(tmp_path / "hop-thu.mbox", options()).files
    assert record.source.attachment == "_AUX.xlsx"
    assert record.path == f"hop-thu.mbox › 2024-06-04 16:52 {ADDRESS['178']} › _AUX.xlsx"
    assert record.status == ACCEPTED


# ---------------------------------------------------------------------- what a message holds
def test_two_units_both_send_bao_cao_xlsx(tmp_path: Path) -> None:
    """Many units name their file "Báo cáo.xlsx": two messages, two entries, both read."""
    at = vn(2024, 6, 5, 9, 0)
    box = write_mbox(
        tmp_path / "hop-thu.mbox",
        [
            (at, mail(unit("178"), at, [("Báo cáo.xlsx", LANG_SON)])),
            (at, mail(unit("183"), at, [("Báo cáo.xlsx", CAO_LOC)])),
        ],
    )
    result = consolidate(box, options())
    assert files_of(result) == {
        f"hop-thu.mbox › 2024-06-05 09:00 {ADDRESS['178']} › Báo cáo.xlsx": (ACCEPTED, ""),
        f"hop-thu.mbox › 2024-06-05 09:00 {ADDRESS['183']} › Báo cáo.xlsx": (ACCEPTED, ""),
    }
    assert sorted(s.unit_code for s in result.submissions) == ["178", "183"]


def test_two_attachments_one_message_and_the_same_name_twice(tmp_path: Path) -> None:
    at = vn(2024, 6, 5, 9, 0)
    raw = mail(unit("186"), at, [("Báo cáo.xlsx", HUU_LUNG_OLD), ("Báo cáo.xlsx", CAO_LOC)], style="outlook")
    result = consolidate(write_mbox(tmp_path / "a.mbox", [(at, raw)]), options())
    label = f"a.mbox › 2024-06-05 09:00 {ADDRESS['186']}"
    assert sorted(files_of(result)) == [f"{label} › Báo cáo (2).xlsx", f"{label} › Báo cáo.xlsx"]
    assert {f.source.attachment for f in result.files} == {"Báo cáo.xlsx"}
    assert {f.unit_code for f in result.files} == {"183", "186"}


def test_a_forwarded_message_and_a_zip(tmp_path: Path) -> None:
    """A workbook inside a forwarded message (message/rfc822), and one inside a zip: read, with
    the envelope of the message that reached the office."""
    original = mail(("Lộc Văn Thắng", "locvanthang.cl@gmail.com"), None, [("Báo cáo Văn Quan.xls", VAN_QUAN)])
    at = vn(2024, 6, 9, 17, 45)
    forward = mail(unit("184"), at, subject="Fwd: Báo cáo", forwarded=original)
    archive = zipped([("Bình Gia/Lạng Sơn.xlsx", LANG_SON.read_bytes(), vn(2024, 6, 4, 16, 45))])
    zip_mail = mail(unit("178"), at + timedelta(minutes=5), [("báo cáo.zip", archive)])
    result = consolidate(
        write_mbox(tmp_path / "a.mbox", [(at, forward), (at + timedelta(minutes=5), zip_mail)]), options()
    )
    by_path = {f.path: f for f in result.files}
    forwarded = by_path[f"a.mbox › 2024-06-09 17:45 {ADDRESS['184']} › Báo cáo Văn Quan.xls"]
    assert (forwarded.status, forwarded.unit_code) == (ACCEPTED, "184")
    assert forwarded.source.sender == f"MTTQ đơn vị 184 <{ADDRESS['184']}>"  # who sent it to the office
    assert any(i.code == "ratio_mismatch" and i.path == forwarded.path for i in result.issues)
    member = by_path[f"a.mbox › 2024-06-09 17:50 {ADDRESS['178']} › báo cáo.zip › Bình Gia/Lạng Sơn.xlsx"]
    assert (member.status, member.unit_code) == (ACCEPTED, "178")
    assert member.source.as_dict()["kind"] == "mail"
    assert member.source.attachment == "báo cáo.zip › Bình Gia/Lạng Sơn.xlsx"
    assert member.source.received_at == at + timedelta(minutes=5)


def test_inline_pictures_and_signatures_are_not_listed_documents_are(tmp_path: Path) -> None:
    """Outlook's signature logo (inline image001.png), a picture sent as an attachment, a PGP
    signature: not listed. A PDF letter next to the workbook: listed, not read."""
    at = vn(2024, 6, 5, 10, 31)
    raw = mail(
        unit("178"),
        at,
        [
            ("Công văn 15-CV.pdf", b"%PDF-1.4 letter"),
            ("ảnh chụp.png", b"\x89PNG fake"),
            ("Báo cáo.xlsx", LANG_SON),
        ],
        client="outlook",
        style="outlook",
        logo=True,
    )
    raw = raw.replace(b"Content-Type: application/octet-stream", b"Content-Type: application/pgp-signature")
    result = consolidate(write_mbox(tmp_path / "a.mbox", [(at, raw)]), options())
    label = f"a.mbox › 2024-06-05 10:31 {ADDRESS['178']}"
    assert files_of(result) == {
        f"{label} › Báo cáo.xlsx": (ACCEPTED, ""),
        f"{label} › Công văn 15-CV.pdf": (IGNORED, "not_a_report"),
    }
    assert next(f for f in result.files if f.status == IGNORED).message == NOT_READ


def test_a_message_without_a_workbook_is_listed_with_its_sender(tmp_path: Path) -> None:
    """ "Xin gửi báo cáo" and no attachment, the commonest mistake; one with only a picture."""
    at = vn(2024, 6, 11, 21, 7)
    forgot = mail(unit("188", "MTTQ huyện Lộc Bình"), at, subject="Xin gửi báo cáo 6 tháng")
    photo = mail(unit("186"), at + timedelta(hours=1), [("bao-cao.jpg", b"\xff\xd8\xff jpeg")])
    box = write_mbox(tmp_path / "a.mbox", [(at, forgot), (at + timedelta(hours=1), photo)])
    report = json_report_dict(consolidate(box, options()))
    first, second = report["files"]
    assert first["path"] == f"a.mbox › 2024-06-11 21:07 {ADDRESS['188']}"
    assert (first["status"], first["reason"]) == (IGNORED, NO_ATTACHMENT)
    assert first["message"] == (
        f"Thư của MTTQ huyện Lộc Bình <{ADDRESS['188']}>, tiêu đề “Xin gửi báo cáo 6 tháng”, không kèm "
        "tệp báo cáo (.xlsx, .xlsm, .xlsb, .xls, .ods, .zip). Hãy đề nghị đơn vị gửi lại thư có đính kèm "
        "tệp báo cáo."
    )
    assert first["source"]["sender"] == f"MTTQ huyện Lộc Bình <{ADDRESS['188']}>"
    assert first["sha256"] and len(first["sha256"]) == 64
    assert (second["reason"], "(thư chỉ kèm: bao-cao.jpg)" in second["message"]) == (NO_ATTACHMENT, True)


def test_a_malformed_message_is_listed_and_the_run_goes_on(tmp_path: Path) -> None:
    at = vn(2024, 6, 5, 9, 0)
    box = write_maildir(
        tmp_path / "Maildir",
        [
            (at, b"\x00\x01\x02 not a message \xff\xfe" * 40),
            (at + timedelta(minutes=1), mail(unit("178"), None, [("a.xlsx", LANG_SON)])),
        ],
    )
    result = consolidate(box, options())
    statuses = sorted(files_of(result).values())
    assert statuses == [(ACCEPTED, ""), (REJECTED, "corrupt_file")]
    bad = next(f for f in result.files if f.status == REJECTED)
    assert bad.message.startswith("Tệp không phải là thư điện tử hoặc thư bị hỏng")
    assert bad.path == "Maildir" and len(bad.sha256) == 64


def test_size_limits_per_attachment_and_per_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An attachment over MAX_ATTACHMENT is listed as too large without being decoded; a message
    over MAX_MESSAGE is listed (with its sender) without being parsed. Both limits are lowered
    here (the workers are forked from this process, so they see it): 2 MB of attachment."""
    monkeypatch.setattr(messages, "MAX_ATTACHMENT", 1 << 20)
    monkeypatch.setattr(messages, "MAX_MESSAGE", 3 << 20)
    at = vn(2024, 6, 5, 9, 0)
    big = os.urandom(2 << 20)
    box = write_mbox(
        tmp_path / "a.mbox",
        [
            (at, mail(unit("178"), at, [("to.xlsx", big), ("Báo cáo.xlsx", LANG_SON)])),
            (at + timedelta(minutes=1), mail(unit("183"), at, [("a.xlsx", big), ("b.xlsx", big)])),
        ],
    )
    result = consolidate(box, options())
    by_path = {f.path: f for f in result.files}
    too_big = by_path[f"a.mbox › 2024-06-05 09:00 {ADDRESS['178']} › to.xlsx"]
    assert (too_big.status, too_big.reason, too_big.sha256) == (REJECTED, "file_too_large", "")
    assert too_big.message.startswith("Tệp đính kèm lớn hơn 1 MB")
    assert by_path[f"a.mbox › 2024-06-05 09:00 {ADDRESS['178']} › Báo cáo.xlsx"].status == ACCEPTED
    whole = by_path[f"a.mbox › 2024-06-05 09:01 {ADDRESS['183']}"]
    assert (whole.status, whole.reason) == (REJECTED, "file_too_large")
    assert whole.message.startswith("Thư quá lớn (6 MB, giới hạn 3 MB)")
    assert whole.source.sender.endswith(f"<{ADDRESS['183']}>")
    assert MAX_ATTACHMENT == 25 << 20  # the real limit: what Gmail and Outlook let one send


# ---------------------------------------------------------------------- when it arrived
def test_the_received_time_of_each_kind_of_mailbox(tmp_path: Path) -> None:
    """mbox: the From_ line; Maildir: the delivery (modification) time; .eml: the top Received:;
    none of these: the Date: header, with a warning saying so."""
    arrived = vn(2024, 6, 10, 23, 59)
    sent = vn(2024, 6, 10, 12, 0)  # the sender's clock: never used when an arrival is known
    raw = mail(unit("178"), None, [("a.xlsx", LANG_SON)], sent=sent)
    mbox = write_mbox(tmp_path / "a.mbox", [(arrived, raw)])
    maildir = write_maildir(tmp_path / "Maildir", [(arrived, raw)])
    folder = tmp_path / "thu"
    folder.mkdir()
    (folder / "co-received.eml").write_bytes(mail(unit("178"), arrived, [("a.xlsx", LANG_SON)], sent=sent))
    (folder / "chi-co-date.eml").write_bytes(mail(unit("183"), None, [("a.xlsx", CAO_LOC)], sent=sent))
    for source in (mbox, maildir):
        [record] = consolidate(source, options()).files
        assert record.source.received_at == arrived
    result = consolidate(folder, options())
    times = {f.path: f.source.received_at for f in result.files}
    assert times == {"chi-co-date.eml › a.xlsx": sent, "co-received.eml › a.xlsx": arrived}
    [warning] = result.issues
    assert (warning.path, warning.code, warning.severity) == (
        "chi-co-date.eml › a.xlsx",
        RECEIVED_TIME_UNKNOWN,
        "warning",
    )
    assert warning.message.startswith(
        "Thư không có thời điểm máy chủ nhận; dùng ngày giờ gửi ghi trong thư (12:00 10/06/2024)"
    )


@pytest.mark.parametrize(
    ("line", "moment"),
    [
        (b"From 1801234567890123456@xxx Mon Jun 10 16:59:00 +0000 2024", vn(2024, 6, 10, 23, 59)),
        (b"From - Mon Jun 10 23:59:00 2024", vn(2024, 6, 10, 23, 59)),  # Thunderbird: local time
        (b"From mttq@gmail.com  Tue Jun 11 00:30:05 2024", vn(2024, 6, 11, 0, 30, 5)),
        (b"From MAILER-DAEMON Mon Jun 10 16:59:00 UTC 2024", vn(2024, 6, 10, 23, 59)),
        (b"From nobody Mon Jun 31 10:00:00 2024", None),
        (b"From nobody", None),
    ],
)
def test_mbox_from_line_times(line: bytes, moment: object) -> None:
    assert from_line_time(line) == moment


def test_lateness_around_the_deadline_uses_the_arrival(tmp_path: Path) -> None:
    """Received 23:59 on the deadline day (Vietnam time) is on time, 00:30 the next day is late,
    though both workbooks were saved days before."""
    on_time, late = vn(2024, 6, 10, 23, 59), vn(2024, 6, 11, 0, 30)
    box = write_mbox(
        tmp_path / "a.mbox",
        [
            (on_time, mail(unit("178"), on_time, [("a.xlsx", LANG_SON)])),
            (late, mail(unit("183"), late, [("b.xlsx", CAO_LOC)])),
        ],
    )
    result = consolidate(box, options(deadline=DEADLINE))
    assert {f.unit_code: f.late for f in result.files} == {"178": False, "183": True}
    assert result.completeness.late == ["183"]
    assert {f.unit_code: f.saved_at.date().isoformat() for f in result.files} == {  # type: ignore[union-attr]
        "178": "2024-06-04",
        "183": "2024-06-05",
    }


def test_newest_is_the_latest_arrival_not_the_latest_saved(tmp_path: Path) -> None:
    """Hữu Lũng sends its corrected .ods (saved 8/6), then by mistake its old .xlsx again (saved
    5/6): the one that arrived last is the unit's submission."""
    first, again = vn(2024, 6, 8, 10, 2), vn(2024, 6, 9, 8, 0)
    box = write_mbox(
        tmp_path / "a.mbox",
        [
            (first, mail(unit("186"), first, [("sửa.ods", HUU_LUNG_NEW)])),
            (again, mail(unit("186"), again, [("cũ.xlsx", HUU_LUNG_OLD)])),
        ],
    )
    result = consolidate(box, options())
    assert {f.source.attachment: f.status for f in result.files} == {
        "sửa.ods": SUPERSEDED,
        "cũ.xlsx": ACCEPTED,
    }


def test_messages_of_one_sender_in_one_minute_are_told_apart(tmp_path: Path) -> None:
    at = vn(2024, 6, 5, 9, 0)
    box = write_mbox(
        tmp_path / "a.mbox",
        [
            (at, mail(unit("178"), at, [("Báo cáo.xlsx", LANG_SON)], subject="lần 1")),
            (
                at + timedelta(seconds=30),
                mail(unit("178"), at, [("Báo cáo.xlsx", LANG_SON)], subject="lần 2"),
            ),
        ],
    )
    label = f"a.mbox › 2024-06-05 09:00 {ADDRESS['178']}"
    result = consolidate(box, options())
    assert {f.path: f.source.subject for f in result.files} == {
        f"{label} › Báo cáo.xlsx": "lần 1",
        f"{label} (2) › Báo cáo.xlsx": "lần 2",
    }


# ---------------------------------------------------------------------- read where it is parsed
def _mixed_mailbox() -> list[tuple[datetime, bytes]]:
    """Two messages of one sender in one minute under one name, a malformed one, a zip, two
    attachments in one message (the day before), a message with no workbook."""
    at, before = vn(2024, 6, 5, 9, 0), vn(2024, 6, 4, 8, 0)
    archive = zipped([("Bình Gia/Lạng Sơn.xlsx", LANG_SON.read_bytes(), vn(2024, 6, 4, 16, 45))])
    return [
        (at, mail(unit("178"), at, [("Báo cáo.xlsx", LANG_SON)], subject="lần 1")),
        (at + timedelta(seconds=30), mail(unit("178"), at, [("Báo cáo.xlsx", CAO_LOC)], subject="lần 2")),
        (at + timedelta(minutes=3), b"\x00\x01\x02 not a message \xff\xfe" * 40),
        (at + timedelta(minutes=5), mail(unit("186"), at, [("nén.zip", archive)], style="outlook")),
        (before, mail(unit("185"), before, [("BS.ods", BAC_SON), ("VQ.xls", VAN_QUAN)], style="thunderbird")),
        (at + timedelta(minutes=9), mail(unit("188"), at, [])),
    ]


def test_a_mailbox_is_read_message_by_message_by_the_reading_workers(tmp_path: Path) -> None:
    """Each message is parsed by the worker that reads its attachments: the labels of one sender in
    one minute still told apart, a malformed message listed, a zip opened, the order by path,
    --since kept, and the totals those of a folder of the same workbooks."""
    messages_ = _mixed_mailbox()
    box = write_mbox(tmp_path / "a.mbox", messages_)
    result = consolidate(box, options(workers=2))
    label = f"a.mbox › 2024-06-05 09:00 {ADDRESS['178']}"
    expected = [
        (f"a.mbox › 2024-06-04 08:00 {ADDRESS['185']} › BS.ods", ACCEPTED),
        (f"a.mbox › 2024-06-04 08:00 {ADDRESS['185']} › VQ.xls", ACCEPTED),
        (f"{label} (2) › Báo cáo.xlsx", ACCEPTED),
        (f"{label} › Báo cáo.xlsx", SUPERSEDED),  # Lạng Sơn's, sent again in the zip
        (f"a.mbox › 2024-06-05 09:05 {ADDRESS['186']} › nén.zip › Bình Gia/Lạng Sơn.xlsx", ACCEPTED),
        (f"a.mbox › 2024-06-05 09:09 {ADDRESS['188']}", IGNORED),
        ("a.mbox", REJECTED),  # the malformed message: it has no label of its own
    ]
    assert sorted((f.path, f.status) for f in result.files) == sorted(expected)
    assert [f.path for f in result.files] == sorted(f.path for f in result.files)
    assert {f.path: f.source.subject for f in result.files if f.path.startswith(label)} == {
        f"{label} › Báo cáo.xlsx": "lần 1",
        f"{label} (2) › Báo cáo.xlsx": "lần 2",
    }
    bad = next(f for f in result.files if f.status == REJECTED)
    assert (bad.reason, len(bad.sha256)) == ("corrupt_file", 64)
    # every finding names the file as the list of files does, "(2)" included
    assert {i.path for i in result.issues} <= {f.path for f in result.files}
    assert any(i.path == f"a.mbox › 2024-06-04 08:00 {ADDRESS['185']} › VQ.xls" for i in result.issues)

    folder = tmp_path / "thu-muc"
    folder.mkdir()
    for i, path in enumerate((LANG_SON, CAO_LOC, BAC_SON, VAN_QUAN)):
        (folder / f"{i}{path.suffix}").write_bytes(path.read_bytes())
    assert result.totals == consolidate(folder, options()).totals

    maildir = consolidate(write_maildir(tmp_path / "Maildir", messages_), options(workers=1))
    assert [(f.path.replace("Maildir", "a.mbox", 1), f.status) for f in maildir.files] == [
        (f.path, f.status) for f in result.files
    ]

    since = consolidate(box, options(workers=2), mail=MailAccess(since=date(2024, 6, 5)))
    assert [f.path for f in since.files] == [f.path for f in result.files if "2024-06-04" not in f.path]


def test_a_message_that_takes_its_worker_down_is_read_again_attachment_by_attachment(tmp_path: Path) -> None:
    """A workbook that hangs the spreadsheet parser, sent with a good one: the message's task is
    stopped, then the message parsed on its own and each attachment read as a file is."""
    hang = Path(__file__).parent / "regressions" / "calamine_hang-d3ac21714f71.ods"
    at = vn(2024, 6, 5, 9, 0)
    box = write_mbox(
        tmp_path / "a.mbox",
        [
            (at, mail(unit("183"), at, [("treo.ods", hang), ("Cao Lộc.xlsx", CAO_LOC)])),
            (at + timedelta(minutes=1), mail(unit("178"), at, [("Lạng Sơn.xlsx", LANG_SON)])),
        ],
    )
    result = consolidate(box, options(workers=2, limits=Limits(seconds=2)))
    label = f"a.mbox › 2024-06-05 09:00 {ADDRESS['183']}"
    assert files_of(result) == {
        f"{label} › Cao Lộc.xlsx": (ACCEPTED, ""),
        f"{label} › treo.ods": (REJECTED, "corrupt_file"),
        f"a.mbox › 2024-06-05 09:01 {ADDRESS['178']} › Lạng Sơn.xlsx": (ACCEPTED, ""),
    }
    stuck = next(f for f in result.files if f.status == REJECTED)
    assert "quá 2 giây" in stuck.message
    assert stuck.source.sender == f"MTTQ đơn vị 183 <{ADDRESS['183']}>"


FROM_FORMS = [
    "=?UTF-8?B?TVRUUSBQaMaw4budbmcgQmEgxJDDrG5o?= <mttq.00004@gmail.com>",  # Gmail: encoded words
    '"=?UTF-8?B?VHLhuqduIFRo4buLIEjDsmE=?=" <Van.Phong+bc@MTTQ-LangSon.gov.vn>',  # Outlook: in quotes
    "=?UTF-8?B?TVRUUSBQaMaw4budbmcg?=\n\t=?UTF-8?B?QmEgxJDDrG5o?= <a@b.vn>",  # folded
    '"=?utf-8?q?Ph=C6=B0=E1=BB=9Dng_A?=" <a@b.vn>',
    "=?iso-8859-1?q?Andr=E9?= <a@b.vn>",
    '"Nguyen, Van A" <a@b.vn>',
    "Dr. Who  <who@x.org>",
    "<a@b.vn>",
    '"" <a@b.vn>',
]


@pytest.mark.parametrize("raw", FROM_FORMS)
def test_a_from_of_the_common_form_is_read_as_the_header_parser_reads_it(raw: str) -> None:
    view = EmailMessage(policy=policy.default)
    view.set_raw("From", raw)
    fast = messages._simple_sender(raw)
    assert fast is not None  # read without the parser…
    assert fast == messages._parsed_sender(view)  # …as the parser reads it


@pytest.mark.parametrize(
    "raw",
    ["a@b.vn", "MTTQ =?UTF-8?B?UGjGsOG7nW5n?= <a@b.vn>", '"Ban \\"A\\"" <a@b.vn>', "x <a@b.vn>, y <c@d.vn>"],
)
def test_any_other_from_goes_to_the_header_parser(raw: str) -> None:
    assert messages._simple_sender(raw) is None


@pytest.mark.parametrize("style", ["gmail", "outlook", "thunderbird", "apple", "raw"])
@pytest.mark.parametrize("name", [LONG_NAME, "Báo cáo.xlsx", "BC  6T-2024.xls", "bieu-so-lieu.ods"])
def test_an_attachment_name_and_a_subject_read_as_the_header_parser_reads_them(style: str, name: str) -> None:
    """The name of an attachment as each client writes it, and a subject, read from the raw
    header where that can be done: the same text the email package's full parser gives."""
    part = mime.header(sample_mail.attachment_part(sample_mail.Attachment(name, b"x", style)).encode())[0]
    parsed = messages._view(part).get_filename()
    assert (
        messages.clean_name(messages._filename(part) or "")
        == messages.clean_name(parsed)
        == name.replace("  ", " ")
    )
    if style in ("gmail", "outlook"):  # encoded words, or ASCII: no full parse
        assert messages._plain_text(part.get_filename()) is not None
    subject = f"Subject: {sample_mail._header_text('Báo cáo: ' + name)}\n\n".encode()
    head = mime.header(subject)[0]
    plain = messages._plain_text(head["subject"])
    assert plain is not None
    assert clean_text(plain) == clean_text(str(messages._view(head)["subject"]))


@pytest.mark.parametrize(
    "name, address",
    [("MTTQ Phường Ba Đình", "mttq.00004@gmail.com"), ('Nguyễn, Văn "A"', "a.b+c@x.vn"), ("", "a@b.vn")],
)
def test_a_sender_is_shown_as_the_address_parser_shows_it(name: str, address: str) -> None:
    assert messages._shown_sender(name, address) == str(Address(display_name=name, addr_spec=address))


SENDERS = [
    *(
        messages._shown_sender(name, address)
        for name, address in [
            ("MTTQ Phường Ba Đình", "mttq.00004@gmail.com"),
            ('Nguyễn, Văn "A"', "A.B+c@X.vn"),
            ("", "a@b.vn"),
            ("Dr. Who", "who@x.org"),
            ("a@b.vn", "c@d.vn"),
            ("Trần (Ban TG)", "tg@x.vn"),
            ("Back\\slash", "b@x.vn"),
        ]
    ),
    "Chị Mai",  # a From that was no address: the name alone
    "undisclosed-recipients:;",
    '"unclosed <a@b.vn>',
    "x <a@b.vn> y",
    "<a..b@c.vn>",
    "<.a@c.vn>",
    "a@b.vn (comment)",
    "",
]


@pytest.mark.parametrize("sender", SENDERS)
def test_a_senders_address_is_read_as_parseaddr_reads_it(sender: str) -> None:
    """`Source.address` reads "Name <address>" itself: the same address parseaddr gives, any form."""
    assert Source(kind="mail", sender=sender).address == parseaddr(sender)[1].lower()


def test_the_common_senders_are_read_without_parseaddr() -> None:
    assert all(model._SHOWN_SENDER.fullmatch(sender) for sender in SENDERS[:3])


# ---------------------------------------------------------------------- who sent it
def test_a_workbook_of_one_unit_from_another_units_address(tmp_path: Path, roster: tuple) -> None:
    """Cao Lộc's workbook sent from Bắc Sơn's address: a warning naming both. From an address
    not on the roster: no finding, the sender shown. From Cao Lộc's second address: fine."""
    at, later = vn(2024, 6, 5, 9, 0), vn(2024, 6, 5, 9, 5)  # the later one is Cao Lộc's submission
    box = write_mbox(
        tmp_path / "a.mbox",
        [
            (at, mail(("", "vanphong.mttqcaoloc@gmail.com"), at, [("Cao Lộc lần 1.xlsx", CAO_LOC)])),
            (at, mail(("Chị Mai", "mai.nguyen@yahoo.com"), at, [("TP.xlsx", LANG_SON)])),
            (later, mail(unit("185"), later, [("Cao Lộc.xlsx", CAO_LOC)])),
        ],
    )
    result = consolidate(box, options(roster=roster))
    mismatches = [i for i in result.issues if i.code == SENDER_MISMATCH]
    assert [(i.severity, i.unit_code, i.path) for i in mismatches] == [
        ("warning", "183", f"a.mbox › 2024-06-05 09:05 {ADDRESS['185']} › Cao Lộc.xlsx")
    ]
    assert mismatches[0].message == (
        f"Tệp là báo cáo của Huyện Cao Lộc nhưng được gửi từ địa chỉ {ADDRESS['185']} của Huyện Bắc Sơn. "
        "Hãy kiểm tra tên đơn vị trong tệp (trang Thông tin) và hỏi lại đơn vị gửi."
    )
    stranger = next(f for f in result.files if f.source.attachment == "TP.xlsx")
    assert (stranger.status, stranger.source.sender) == (ACCEPTED, "Chị Mai <mai.nguyen@yahoo.com>")


# ---------------------------------------------------------------------- the kinds of source
def test_kinds_of_source(tmp_path: Path) -> None:
    maildir = write_maildir(tmp_path / "Maildir", [])
    plain = tmp_path / "thu-muc"
    plain.mkdir()
    box = write_mbox(tmp_path / "Inbox", [])  # Thunderbird's mbox has no suffix
    box.write_bytes(b"From - Mon Jun 10 23:59:00 2024\nSubject: x\n\nbody\n")
    assert [kind(p) for p in (maildir, plain, box, LANG_SON)] == ["maildir", "folder", "mbox", "file"]
    assert kind("imaps://tonghop.mttq@gmail.com/INBOX") == "imap"


def test_folder_of_files_and_saved_messages_side_by_side(tmp_path: Path) -> None:
    folder = tmp_path / "hop-thu"
    (folder / "thu").mkdir(parents=True)
    (folder / "Bắc Sơn.ods").write_bytes(BAC_SON.read_bytes())
    at = vn(2024, 6, 5, 9, 0)
    (folder / "thu" / "Lạng Sơn.eml").write_bytes(mail(unit("178"), at, [("Báo cáo.xlsx", LANG_SON)]))
    (folder / "thu" / "hong.eml").write_bytes(mail(unit("188"), at, [("LB.xlsx", BROKEN)]))
    result = consolidate(folder, options())
    assert files_of(result) == {
        "Bắc Sơn.ods": (ACCEPTED, ""),
        "thu/Lạng Sơn.eml › Báo cáo.xlsx": (ACCEPTED, ""),
        "thu/hong.eml › LB.xlsx": (REJECTED, "corrupt_file"),
    }
    assert {f.source.kind for f in result.files} == {"file", "mail"}


def test_check_reads_a_saved_message_and_an_mbox(tmp_path: Path) -> None:
    at = vn(2024, 6, 7, 17, 3)
    eml = tmp_path / "Văn Quan.eml"
    eml.write_bytes(mail(unit("184"), at, [("BC Văn Quan.xls", VAN_QUAN)]))
    box = write_mbox(tmp_path / "hop-thu.mbox", [(at, mail(unit("178"), at, [("TP.xlsx", LANG_SON)]))])
    result = check([eml, box], Options())
    assert files_of(result) == {
        "Văn Quan.eml › BC Văn Quan.xls": (ACCEPTED, ""),
        f"hop-thu.mbox › 2024-06-07 17:03 {ADDRESS['178']} › TP.xlsx": (ACCEPTED, ""),
    }
    cli = run("check", eml)
    assert cli.exit_code == 1
    assert cli.output.splitlines()[:2] == [
        "Văn Quan.eml › BC Văn Quan.xls: đọc được",
        "  Lỗi: Ô Số liệu!E82 (Tỷ lệ hòa giải thành công): tỷ lệ ghi 72,97% nhưng 54/80 = 67,50%.",
    ]


def test_check_lists_the_sources_in_the_order_given(tmp_path: Path) -> None:
    """Each source's files together, the sources in the order given (not by name), a mailbox's
    messages read by the reading workers included."""
    at = vn(2024, 6, 7, 17, 3)
    eml = tmp_path / "Văn Quan.eml"
    eml.write_bytes(mail(unit("184"), at, [("BC Văn Quan.xls", VAN_QUAN)]))
    box = write_mbox(tmp_path / "thu-den.mbox", [(at, mail(unit("178"), at, [("TP.xlsx", LANG_SON)]))])
    result = check([box, eml, LANG_SON], Options())
    assert [f.path for f in result.files] == [
        f"thu-den.mbox › 2024-06-07 17:03 {ADDRESS['178']} › TP.xlsx",
        "Văn Quan.eml › BC Văn Quan.xls",
        LANG_SON.name,
    ]


def test_the_mailbox_is_not_changed(tmp_path: Path) -> None:
    at = vn(2024, 6, 5, 9, 0)
    maildir = write_maildir(
        tmp_path / "Maildir", [(at, mail(unit("178"), at, [("a.xlsx", LANG_SON)])) for _ in range(3)]
    )
    box = write_mbox(tmp_path / "a.mbox", [(at, mail(unit("178"), at, [("a.xlsx", LANG_SON)]))])

    def snapshot() -> dict[str, tuple[bytes, int]]:
        return {
            str(p.relative_to(tmp_path)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(tmp_path.rglob("*"))
            if p.is_file()
        }

    before = snapshot()
    consolidate(maildir, options())
    consolidate(box, options())
    assert snapshot() == before  # same files, same places (nothing moved from new/ to cur/), same times


def test_same_mailbox_same_report(tmp_path: Path) -> None:
    first = json.dumps(
        json_report_dict(consolidate(Path(__file__).parents[1] / "samples" / "hop-thu.mbox", options()))
    )
    second = json.dumps(
        json_report_dict(consolidate(Path(__file__).parents[1] / "samples" / "hop-thu.mbox", options()))
    )
    assert first == second


# ---------------------------------------------------------------------- MIME as it arrives
def _multipart(
    parts: list[bytes], boundary: bytes, *, eol: bytes, preamble: bytes = b"", close: bool = True
) -> bytes:
    head = (
        b"From: " + ADDRESS["178"].encode() + b"\nSubject: x\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/mixed; boundary="' + boundary + b'"\n\n'
    )
    body = preamble + b"".join(b"--" + boundary + b"  \n" + p + b"\n" for p in parts)
    body += b"--" + boundary + b"--\nan epilogue\n" if close else b""
    return (head + body).replace(b"\n", eol)


def _workbook_part(name: str, data: bytes, encoding: str = "base64") -> bytes:
    import base64
    import quopri

    encoded = base64.encodebytes(data) if encoding == "base64" else quopri.encodestring(data)
    return (
        f'Content-Type: application/octet-stream; name="{name}"\n'
        f"Content-Transfer-Encoding: {encoding}\n"
        f'Content-Disposition: attachment; filename="{name}"\n\n'
    ).encode() + encoded.rstrip(b"\n")


@pytest.mark.parametrize("eol", [b"\n", b"\r\n"])
def test_parts_are_found_by_their_boundary_lines(eol: bytes) -> None:
    """A preamble, a text line that starts like the boundary, padding after boundary lines, an
    epilogue; LF and CRLF; base64 and quoted-printable: each body comes back exactly."""
    from mttq_xlsx import mime

    text = b"Content-Type: text/plain\n\nXin g\xc3\xa1i\n--b1-not-a-boundary\nend"
    note = "Ghi chú: Đình Lập gửi muộn = 2 ngày\nhết.".encode()
    raw = _multipart(
        [
            text,
            _workbook_part("a.xlsx", LANG_SON.read_bytes()),
            _workbook_part("b.txt", note, "quoted-printable"),
        ],
        b"b1",
        eol=eol,
        preamble=b"This is a multi-part message in MIME format.\n",
    )
    leaves = list(mime.leaves(raw))
    assert [leaf.head.get_filename() for leaf in leaves] == [None, "a.xlsx", "b.txt"]
    assert leaves[0].decoded() == b"Xin g\xc3\xa1i\n--b1-not-a-boundary\nend".replace(b"\n", eol)
    assert leaves[1].decoded() == LANG_SON.read_bytes()
    assert leaves[2].decoded() == note.replace(b"\n", eol)


def test_cut_short_missing_closing_line_and_an_encoded_forward(tmp_path: Path) -> None:
    """A message that did not arrive whole (its attachment cut in the middle): listed, the workbook
    rejected as damaged. No closing boundary line: the attachment still read. A forwarded message
    itself sent as base64: opened, its workbook read."""
    import base64

    whole = _multipart([_workbook_part("a.xlsx", LANG_SON.read_bytes())], b"zz", eol=b"\n")
    cut = whole[: len(whole) * 2 // 3]
    unclosed = _multipart([_workbook_part("b.xlsx", CAO_LOC.read_bytes())], b"yy", eol=b"\n", close=False)
    inner = mail(unit("184"), None, [("c.xls", VAN_QUAN)])
    forward = _multipart(
        [b"Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n" + base64.encodebytes(inner)],
        b"xx",
        eol=b"\n",
    )
    folder = tmp_path / "thu"
    folder.mkdir()
    for name, raw in (("cut.eml", cut), ("unclosed.eml", unclosed), ("forward.eml", forward)):
        (folder / name).write_bytes(raw)
    result = consolidate(folder, options())
    assert files_of(result) == {
        "cut.eml › a.xlsx": (REJECTED, "corrupt_file"),
        "forward.eml › c.xls": (ACCEPTED, ""),
        "unclosed.eml › b.xlsx": (ACCEPTED, ""),
    }


def test_fetch_from_files_adds_only_messages_it_does_not_have(tmp_path: Path) -> None:
    """From files, a message is known by its Message-ID and its attachments' hashes: the same
    mailbox fetched again, or exported again as a Maildir, adds nothing; a new message is added."""
    from tools import sample_mail

    copy = tmp_path / "hop-thu"
    messages = sample_mail.mailbox_messages(Path(__file__).parents[1] / "samples" / "inbox")
    box = write_mbox(tmp_path / "a.mbox", messages[:10])
    first = run("fetch", box, "-o", copy)
    assert (
        first.output.splitlines()[0]
        == f"Đã lấy 10 thư mới vào {copy}: lưu 11 tệp; 0 thư không có tệp báo cáo; 0 thư đã có từ trước."
    )
    saved = sorted(p.name for p in copy.iterdir())
    again = run("fetch", write_maildir(tmp_path / "Maildir", messages), "-o", copy)
    assert (
        again.output.splitlines()[0]
        == f"Đã lấy 5 thư mới vào {copy}: lưu 4 tệp; 1 thư không có tệp báo cáo; 10 thư đã có từ trước."
    )
    assert set(saved) < set(p.name for p in copy.iterdir())
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    assert [m["mailbox"] for m in manifest["messages"]] == ["a.mbox"] * 10 + ["Maildir"] * 5
    assert {m["received_from"] for m in manifest["messages"]} == {"mbox", "maildir"}


ODD_HEADERS = [
    'Subject: a\r\n\tfolded\r\nX-Two:  two words \r\nContent-Type: text/plain;\r\n name="a.xlsx"',
    "Subject: a lone\rcarriage return\nFrom: x <a@b.vn>",
    "From a@b.vn Mon Jun 10 20:35:07 2024\nSubject: a From_ line first",
    " continued first\nSubject: s",
    "Subject: s\nno colon on this line\nX-After: kept?",
    ": empty name\nSubject: s",
    "Subject: T\udce1\udcbb\udc95ng (raw UTF-8)\n"
    'Content-Disposition: attachment;\n filename="B\udcc3\udca1o.xlsx"',
    "X-Empty:\nX-Spaces:   \nSubject:no space",
    "",
]


def test_a_header_is_read_as_the_feedparser_reads_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The header of every part of every message of the sample mbox (Gmail, Outlook, Thunderbird,
    Apple Mail…) and headers of odd forms (a From_ line, a line without a colon, a lone CR, raw
    UTF-8): the same fields, values and defects as the email package's feedparser gives."""
    texts = list(ODD_HEADERS)
    plain_header = mime._plain_header

    def seen(text: str) -> Message | None:  # the real function, each header it is given kept
        texts.append(text)
        return plain_header(text)

    monkeypatch.setattr(mime, "_plain_header", seen)
    for _, raw in sample_mail.mailbox_messages(SAMPLES / "inbox"):
        list(mime.leaves(raw))
    assert len(texts) > 50
    monkeypatch.undo()
    for text in texts:
        ours = mime._plain_header(text)
        theirs = Parser(policy=policy.compat32).parsestr(text + "\n\n", headersonly=True)
        read = mime.header(text.encode("ascii", "surrogateescape"))[0]
        assert list(read.raw_items()) == list(theirs.raw_items())
        if ours is not None:  # else the feedparser reads it
            assert list(ours.raw_items()) == list(theirs.raw_items()), text
            assert (ours.defects, theirs.defects, ours.get_unixfrom(), theirs.get_unixfrom()) == (
                [],
                [],
                None,
                None,
            )
            assert (ours.get_content_type(), ours.get_filename()) == (
                theirs.get_content_type(),
                theirs.get_filename(),
            )
    clients = texts[len(ODD_HEADERS) :]  # the clients' headers are all read without the feedparser
    assert all(mime._plain_header(text) is not None for text in clients)
