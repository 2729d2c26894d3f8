"""An IMAP mailbox as the inbox, against a real IMAP server (pymap) on this computer, seeded by
IMAP APPEND with the sample mailbox's messages and their arrival times as INTERNALDATE. After
every run, every message's flags, INTERNALDATE and size are as before, and the server's log shows
only reading commands: EXAMINE, never SELECT, STORE, COPY, MOVE or EXPUNGE; bodies by BODY.PEEK."""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mttq_xlsx import MailAccess, MailError, Options, UsageError, consolidate
from mttq_xlsx.cli import main
from mttq_xlsx.mailserver import PASSWORD_VARIABLE, parse_server
from mttq_xlsx.periods import parse_period
from mttq_xlsx.roster import read_roster
from tests.mail_helpers import INBOX, MBOX, ROSTER, demo_args, mail, unit, vn
from tools import sample_mail
from tools.mail_servers import PASSWORD, USER, Imap, imap_server

PERIOD = parse_period("2024-6T")
READING = {"CAPABILITY", "LOGIN", "AUTHENTICATE", "EXAMINE", "UID SEARCH", "UID FETCH", "LIST", "LOGOUT"}
# flags the office's mail program left: read, starred, answered, none
FLAGS = [(b"\\Seen",), (b"\\Seen", b"\\Flagged"), (), (b"\\Answered", b"\\Seen")]


def run(*args: object, password: str | None = PASSWORD) -> Result:
    env = {PASSWORD_VARIABLE: password} if password is not None else {}
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


def access(**kw: object) -> MailAccess:
    return MailAccess(insecure=True, password=lambda account: PASSWORD, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Imap]:
    """The office's mailbox: the sample mailbox in INBOX, with assorted flags."""
    with imap_server(tmp_path_factory.mktemp("imap")) as imap:
        messages = sample_mail.mailbox_messages(INBOX)
        imap.append("INBOX", [(at, raw, FLAGS[n % len(FLAGS)]) for n, (at, raw) in enumerate(messages)])
        yield imap


@pytest.fixture
def untouched(server: Imap) -> Iterator[None]:
    """The mailbox after the test is as before it, and the client only read."""
    before = server.state()
    start = len(server.commands())
    yield
    assert server.state() == before
    used = set(server.commands()[start:])
    assert used <= READING | {"APPEND", "CREATE"}, used  # APPEND, CREATE: the tests' own new mail
    lines = server.log.read_text(encoding="utf-8").splitlines()
    fetches = [line for line in lines if "-->|" in line and " UID FETCH " in line]
    assert fetches and all("BODY[" not in f.replace("BODY.PEEK[", "") for f in fetches)


@pytest.fixture(scope="module")
def roster() -> tuple:
    return tuple(read_roster(ROSTER))


def test_imap_mbox_and_folder_give_the_same_totals(server: Imap, untouched: None, roster: tuple) -> None:
    options = Options(period=PERIOD, roster=roster, deadline=PERIOD.deadline)
    by_imap = consolidate(f"{server.url}/INBOX", options, mail=access())
    by_mbox = consolidate(MBOX, options)
    by_folder = consolidate(INBOX, options)
    assert by_imap.totals == by_mbox.totals == by_folder.totals
    assert by_imap.completeness == by_mbox.completeness == by_folder.completeness
    assert by_imap.completeness.late == ["189"]

    def statuses(result) -> list[tuple]:
        return sorted(
            (f.source.attachment, f.status, f.reason, f.late, f.source.sender, f.source.received_at)
            for f in result.files
        )

    assert statuses(by_imap) == statuses(by_mbox)
    assert [f.path.split(" › ", 1)[1] for f in by_imap.files] == [
        f.path.split(" › ", 1)[1] for f in by_mbox.files
    ]
    assert all(f.path.startswith("INBOX › ") for f in by_imap.files)


def test_the_command_line_reads_an_imap_folder(server: Imap, untouched: None, tmp_path: Path) -> None:
    result = run(*demo_args(server.url, tmp_path / "tong-hop.xlsx", tmp_path / "bao-cao.json"), "--insecure")
    assert result.exit_code == 1, result.output
    assert "Đã nhận 11/11 đơn vị; chưa nộp: 0; nộp muộn: 1." in result.output
    report = json.loads((tmp_path / "bao-cao.json").read_text(encoding="utf-8"))
    assert sum(f["reason"] == "no_attachment" for f in report["files"]) == 1
    assert {f["source"]["kind"] for f in report["files"]} == {"mail"}


def test_a_vietnamese_folder_and_since(server: Imap, tmp_path: Path) -> None:
    """Gmail names its folders in the account's language ("[Gmail]/Tất cả thư"): --folder takes
    it as written; --since leaves out what arrived before that day (Vietnam time)."""
    folder = "[Gmail]/Tất cả thư"
    messages = sample_mail.mailbox_messages(INBOX)
    server.append(folder, [(at, raw, ()) for at, raw in messages])
    before = server.state(folder)
    result = consolidate(
        server.url, Options(period=PERIOD), mail=access(folder=folder, since=vn(2024, 6, 10, 0, 0).date())
    )
    assert server.state(folder) == before
    assert sorted(
        f.source.received_at.astimezone(vn(2024, 1, 1).tzinfo).strftime("%d/%m %H:%M") for f in result.files
    ) == [  # type: ignore[union-attr]
        "10/06 16:33",
        "10/06 16:41",
        "11/06 21:07",
        "12/06 08:31",
    ]
    assert all(f.path.startswith(f"{folder} › ") for f in result.files)


def test_a_missing_folder_names_the_ones_there(server: Imap) -> None:
    with pytest.raises(MailError) as info:
        consolidate(server.url, Options(), mail=access(folder="Hộp thư đến"))
    assert str(info.value).startswith(
        f"Hộp thư {USER} không có thư mục “Hộp thư đến”. Các thư mục có: “INBOX”"
    )


def test_a_wrong_password_says_so_and_never_shows_it(server: Imap) -> None:
    result = run("consolidate", server.url, "--insecure", "-o", "x.xlsx", password="sai-mat-khau-123")
    assert result.exit_code == 2
    assert result.stderr == (
        f"Lỗi: Máy chủ thư 127.0.0.1 từ chối đăng nhập của {USER}: sai tên hoặc mật khẩu. Với Gmail, hãy "
        "dùng mật khẩu ứng dụng (xem README: Hộp thư Gmail).\n"
    )
    assert "sai-mat-khau" not in result.output


def test_plain_imap_only_with_insecure_and_no_password_in_the_address(server: Imap) -> None:
    refused = run("consolidate", server.url, "-o", "x.xlsx")
    assert refused.exit_code == 2
    assert "imap:// gửi mật khẩu và thư không mã hóa. Hãy dùng imaps://" in refused.stderr
    with_password = run("consolidate", f"imaps://{USER}:{PASSWORD}@imap.gmail.com/INBOX", "-o", "x.xlsx")
    assert with_password.exit_code == 2
    assert "Không ghi mật khẩu trong địa chỉ máy chủ thư" in with_password.stderr
    assert PASSWORD not in with_password.output


def test_no_password_anywhere(server: Imap, untouched: None, tmp_path: Path) -> None:
    """MTTQ_MAIL_PASSWORD reaches the server (LOGIN) and nowhere else: not the screen, the JSON
    report, the summary workbook, the fetched copy or its manifest."""
    out = tmp_path / "out"
    runs = [
        run("consolidate", server.url, "--insecure", "-o", out / "th.xlsx", "--report", out / "bc.json"),
        run("check", server.url, "--insecure", "--report", out / "check.json"),
        run("fetch", server.url, "--insecure", "-o", out / "hop-thu"),
        run("consolidate", out / "hop-thu", "-o", out / "th2.xlsx", "--report", out / "bc2.json"),
    ]
    assert [r.exit_code for r in runs] == [1, 1, 0, 1], [r.output for r in runs]
    secret = PASSWORD.encode()
    for r in runs:
        assert PASSWORD not in r.output
    for path in out.rglob("*"):
        if path.is_file():
            assert secret not in path.read_bytes(), path
            if path.suffix == ".xlsx" and zipfile.is_zipfile(path):
                with zipfile.ZipFile(path) as zf:
                    assert all(secret not in zf.read(n) for n in zf.namelist()), path
    assert "AUTHENTICATE" in server.commands()  # the password went to the server (SASL PLAIN: UTF-8)


def test_server_addresses() -> None:
    gmail = parse_server(
        "imaps://tonghop.mttq@gmail.com/%5BGmail%5D/T%E1%BA%A5t%20c%E1%BA%A3%20th%C6%B0", ("imaps",)
    )
    assert (gmail.user, gmail.host, gmail.port, gmail.path, gmail.tls) == (
        "tonghop.mttq@gmail.com",
        "imap.gmail.com",
        993,
        "[Gmail]/Tất cả thư",
        True,
    )
    full = parse_server("imaps://tonghop@mttq.vn@mail.mttq.vn:1993/INBOX", ("imaps",))
    assert (full.user, full.host, full.port) == ("tonghop@mttq.vn", "mail.mttq.vn", 1993)
    assert str(full) == "imaps://tonghop@mttq.vn@mail.mttq.vn:1993/INBOX"
    smtp = parse_server("smtps://tonghop.mttq@gmail.com", ("smtps", "smtp"))
    assert (smtp.host, smtp.port) == ("smtp.gmail.com", 465)
    with pytest.raises(UsageError):
        parse_server("http://x/INBOX", ("imaps",))


def test_fetch_then_only_new_messages_and_the_copy_consolidates_alike(
    server: Imap, untouched: None, tmp_path: Path, roster: tuple
) -> None:
    """fetch saves each attachment under a name that cannot collide, with a manifest; fetching
    again downloads nothing known (by UIDVALIDITY:UID); a new message is added; `consolidate` of
    the copy gives the IMAP run's statuses, senders and arrival times."""
    copy = tmp_path / "hop-thu"
    box = f"{server.url}/Báo cáo 2024"  # a folder of its own: this test adds a message to it
    server.append("Báo cáo 2024", [(at, raw, ()) for at, raw in sample_mail.mailbox_messages(INBOX)])
    first = run("fetch", box, "--insecure", "-o", copy)
    assert first.exit_code == 0, first.output
    assert (
        first.output.splitlines()[0]
        == f"Đã lấy 15 thư mới vào {copy}: lưu 15 tệp; 1 thư không có tệp báo cáo; 0 thư đã có từ trước."
    )
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["schema"] == "mttq-xlsx/manifest/1"
    names = sorted(p.name for p in copy.iterdir())
    assert len(names) == 16 and "manifest.json" in names
    assert "2024-06-12_0831_MTTQ-Huyen-Dinh-Lap_Dinh-Lap-bao-cao-6T_" in " ".join(names)
    fetched = len([c for c in server.commands() if c == "UID FETCH"])
    again = run("fetch", box, "--insecure", "-o", copy)
    assert again.output.splitlines()[0].startswith(f"Đã lấy 0 thư mới vào {copy}: lưu 0 tệp")
    assert len([c for c in server.commands() if c == "UID FETCH"]) == fetched  # nothing new: no FETCH at all
    assert sorted(p.name for p in copy.iterdir()) == names

    options = Options(period=PERIOD, roster=roster, deadline=PERIOD.deadline)
    by_imap = consolidate(box, options, mail=access())
    by_copy = consolidate(copy, options)
    assert by_copy.totals == by_imap.totals and by_copy.completeness == by_imap.completeness

    def envelope(result) -> list[tuple]:
        return sorted(
            (
                f.source.attachment,
                f.status,
                f.reason,
                f.late,
                f.source.sender,
                f.source.subject,
                f.source.received_at,
            )
            for f in result.files
        )

    assert envelope(by_copy) == envelope(by_imap)

    late = vn(2024, 6, 13, 9, 0)
    server.append(
        "Báo cáo 2024", [(late, mail(unit("178"), late, [("bổ sung.xlsx", b"PK\x03\x04 broken")]), ())]
    )
    third = run("fetch", box, "--insecure", "-o", copy)
    assert (
        third.output.splitlines()[0]
        == f"Đã lấy 1 thư mới vào {copy}: lưu 1 tệp; 0 thư không có tệp báo cáo; 0 thư đã có từ trước."
    )
    assert len(list(copy.iterdir())) == 17
    os.remove(copy / "manifest.json")  # without its manifest the copy is a folder of plain files
    plain = consolidate(copy, Options(period=PERIOD))
    assert {f.source.kind for f in plain.files} == {"file", "zip"}  # no envelope any more


def test_a_message_too_large_is_listed_from_its_header_alone(
    server: Imap, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over the message limit (lowered here to 1 MB; the workers are forked from this process),
    only the header is downloaded (BODY.PEEK[HEADER]), and the message is listed with its sender."""
    from mttq_xlsx import imap, messages

    monkeypatch.setattr(messages, "MAX_MESSAGE", 1 << 20)
    monkeypatch.setattr(imap, "MAX_MESSAGE", 1 << 20)
    at = vn(2024, 6, 9, 9, 0)
    big = mail(unit("178"), at, [("to.xlsx", os.urandom(2 << 20))])
    small = mail(unit("183"), at, [("nho.xlsx", INBOX / "Báo cáo Cao Lộc.xlsx")])
    server.append("Lớn", [(at, big, ()), (at, small, ())])
    start = len(server.log.read_text(encoding="utf-8").splitlines())
    result = consolidate(f"{server.url}/Lớn", Options(period=PERIOD), mail=access())
    by_sender = {f.source.sender.rsplit("<", 1)[1]: (f.status, f.reason) for f in result.files}
    assert by_sender == {
        "mttq.tplangson@gmail.com>": ("rejected", "file_too_large"),
        "mttq.caoloc@gmail.com>": ("accepted", ""),
    }
    sent = [
        line
        for line in server.log.read_text(encoding="utf-8").splitlines()[start:]
        if "-->|" in line and "FETCH" in line
    ]
    assert any("BODY.PEEK[HEADER]" in line for line in sent)
