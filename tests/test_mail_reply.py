"""`mttq-xlsx reply`: a Vietnamese acknowledgement to every message of a consolidation, from its JSON
report; written as .eml drafts, or sent to a real SMTP server (aiosmtpd) and read back there.
Never twice for one message; the password nowhere but in the server's AUTH."""

from __future__ import annotations

import json
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from mttq_xlsx.cli import main
from mttq_xlsx.mailserver import PASSWORD_VARIABLE
from mttq_xlsx.replies import STATE
from tests.mail_helpers import MBOX, demo_args
from tools.mail_servers import PASSWORD, USER, smtp_server
from tools.sample_mail import OFFICE

FROM = f"Ban Thường trực UBMTTQ tỉnh Lạng Sơn <{OFFICE}>"
# the test server takes a password without TLS, which aiosmtpd rightly warns of
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def run(*args: object, password: str | None = PASSWORD) -> Result:
    env = {PASSWORD_VARIABLE: password} if password is not None else {}
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The JSON report of the sample mailbox's consolidation."""
    out = tmp_path_factory.mktemp("run")
    done = run(*demo_args(MBOX, out / "tong-hop.xlsx", out / "bao-cao.json"))
    assert done.exit_code == 1, done.output
    return out / "bao-cao.json"


def parsed(data: bytes) -> EmailMessage:
    return message_from_bytes(data, policy=policy.default)  # type: ignore[return-value]


def by_recipient(messages: list[EmailMessage]) -> dict[str, list[EmailMessage]]:
    found: dict[str, list[EmailMessage]] = {}
    for m in messages:
        found.setdefault(m["To"].addresses[0].addr_spec, []).append(m)
    return found


def originals(report: Path) -> dict[str, dict[str, Any]]:
    """The report's messages by Message-ID: their envelope."""
    data = json.loads(report.read_text(encoding="utf-8"))
    return {f["source"]["message_id"]: f["source"] for f in data["files"]}


def test_drafts_say_what_was_received_and_what_to_fix(report: Path, tmp_path: Path) -> None:
    out = tmp_path / "thu-tra-loi"
    done = run("reply", "--report", report, "--from", FROM, "-o", out)
    assert done.exit_code == 0, done.output
    assert done.output == f"Đã soạn 15 thư trả lời trong {out} để xem lại.\n"
    drafts = [parsed(p.read_bytes()) for p in sorted(out.glob("*.eml"))]
    assert len(drafts) == 15 and not (out / STATE).exists()  # nothing sent: no state
    to = by_recipient(drafts)
    sources = originals(report)
    for draft in drafts:  # each one answers its message, to its sender
        original = sources[draft["In-Reply-To"]]
        assert draft["References"] == draft["In-Reply-To"]
        assert draft["To"].addresses[0].addr_spec in original["sender"]
        assert draft["Subject"] == (
            original["subject"] if original["subject"].startswith("Re:") else f"Re: {original['subject']}"
        )
        assert str(draft["From"]) == FROM and draft["Auto-Submitted"] == "auto-replied"
        text = draft.get_content()
        assert (
            "Hạn nộp: hết ngày 10/06/2024. Nếu đơn vị gửi lại tệp đã sửa, văn phòng sẽ dùng tệp gửi sau"
            in text
        )

    [van_quan] = to["mttqvanquan@gmail.com"]
    assert van_quan.get_content().splitlines()[:9] == [
        "Kính gửi MTTQ Huyện Văn Quan,",
        "",
        "Văn phòng đã nhận thư “Báo cáo 6T2024 Văn Quan” lúc 17:03 ngày 07/06/2024 (giờ Việt Nam).",
        "",
        "Kết quả: ĐÃ NHẬN báo cáo của Huyện Văn Quan.",
        "",
        "1. Tệp “BC Van Quan 6T2024.xls”: ĐÃ NHẬN — báo cáo 6 tháng đầu năm 2024 của Huyện Văn Quan.",
        "   1 lỗi cần sửa:",
        "   - Lỗi: Ô Số liệu!E82 (Tỷ lệ hòa giải thành công): tỷ lệ ghi 72,97% nhưng 54/80 = 67,50%.",
    ]
    [van_lang] = to["mttqvanlang.ls@gmail.com"]
    text = van_lang.get_content()
    assert "2. Tệp “Văn Lãng - báo cáo 6 tháng 2024.xls”: ĐÃ NHẬN — báo cáo 6 tháng đầu năm 2024" in text
    assert (
        "1. Tệp “Van Lang - bao cao nam 2023.xlsx”: KHÔNG NHẬN — Tệp là báo cáo kỳ năm 2023 (2023), không "
        "phải kỳ 6 tháng đầu năm 2024 (2024-6T) đang tổng hợp."
    ) in text
    forgot, late = sorted(to["mttq.dinhlap@gmail.com"], key=lambda m: m["Subject"])
    assert "Kết quả: CHƯA NHẬN ĐƯỢC báo cáo nào từ thư này." in forgot.get_content()
    assert "1. Thư không kèm tệp báo cáo. Xin gửi lại thư có đính kèm tệp báo cáo" in forgot.get_content()
    assert "Thư đến sau hạn nộp (hết ngày 10/06/2024) nên báo cáo được ghi là nộp muộn." in late.get_content()
    first, again = sorted(to["mttqlocbinh@gmail.com"], key=lambda m: m["Subject"])
    assert "KHÔNG NHẬN — Tệp bị hỏng hoặc không đầy đủ" in first.get_content()
    assert "Kết quả: ĐÃ NHẬN báo cáo của Huyện Lộc Bình." in again.get_content()
    old, new = sorted(to["mttqhuulung@gmail.com"], key=lambda m: m["Subject"])
    assert (
        "đã nhận nhưng không dùng — Đơn vị đã gửi bản mới hơn: hop-thu.mbox › 2024-06-08 10:02"
        in old.get_content()
    )
    assert "Kết quả: ĐÃ NHẬN báo cáo của Huyện Hữu Lũng." in new.get_content()
    stranger = to["nguyenbinh.hoagiai@gmail.com"][0].get_content()
    assert "KHÔNG NHẬN — Tệp không phải mẫu biểu của mttq-xlsx" in stranger


def test_send_once_to_a_real_smtp_server(report: Path, tmp_path: Path) -> None:
    """Sent with AUTH (the password has Vietnamese letters), to each sender; the state beside the
    drafts; a second run sends nothing; the password is nowhere but in the server's AUTH."""
    out = tmp_path / "thu-tra-loi"
    with smtp_server(tmp_path, login=True) as smtp:
        url = f"smtp://{USER}@127.0.0.1:{smtp.port}"
        first = run("reply", "--report", report, "--from", FROM, "-o", out, "--send", url, "--insecure")
        assert first.exit_code == 0, first.output
        assert first.output == f"Đã gửi 15 thư trả lời; bản lưu trong {out}.\n"
        received = smtp.received()
        assert len(received) == 15
        assert smtp.logins == [(USER, PASSWORD)]
        senders = {s["sender"] for s in originals(report).values()}
        assert {m["X-RcptTo"] for m in received} == {s.rsplit("<", 1)[1].rstrip(">") for s in senders}
        assert {m["X-MailFrom"] for m in received} == {OFFICE}
        van_quan = next(m for m in received if m["X-RcptTo"] == "mttqvanquan@gmail.com")
        body = parsed(van_quan.as_bytes()).get_content()
        assert (
            "- Lỗi: Ô Số liệu!E82 (Tỷ lệ hòa giải thành công): tỷ lệ ghi 72,97% nhưng 54/80 = 67,50%." in body
        )

        second = run("reply", "--report", report, "--from", FROM, "-o", out, "--send", url, "--insecure")
        assert second.exit_code == 0
        assert second.output.splitlines() == [
            f"Đã gửi 0 thư trả lời; bản lưu trong {out}.",
            "15 thư đã được trả lời từ lần trước: không gửi lại.",
        ]
        drafts = run("reply", "--report", report, "--from", FROM, "-o", out)
        assert drafts.output.splitlines()[1] == "15 thư đã được trả lời từ lần trước: không gửi lại."
        assert len(smtp.received()) == 15
    state = json.loads((out / STATE).read_text(encoding="utf-8"))
    assert len(state["sent"]) == 15 and set(state["sent"]) == set(originals(report))
    secret = PASSWORD.encode()
    for path in out.iterdir():
        assert secret not in path.read_bytes()
    for m in received:
        assert secret not in m.as_bytes()
    for r in (first, second, drafts):
        assert PASSWORD not in r.output


def test_plain_smtp_needs_insecure_and_a_wrong_password_is_said(report: Path, tmp_path: Path) -> None:
    with smtp_server(tmp_path, login=True) as smtp:
        url = f"smtp://{USER}@127.0.0.1:{smtp.port}"
        plain = run("reply", "--report", report, "--from", FROM, "-o", tmp_path / "a", "--send", url)
        assert plain.exit_code == 2
        assert plain.stderr.startswith(
            f"Lỗi: Máy chủ thư 127.0.0.1:{smtp.port} không hỗ trợ mã hóa (STARTTLS): mật khẩu và thư sẽ đi "
            "không mã hóa."
        )
        wrong = run(
            "reply",
            "--report",
            report,
            "--from",
            FROM,
            "-o",
            tmp_path / "b",
            "--send",
            url,
            "--insecure",
            password="sai-mat-khau",
        )
        assert wrong.exit_code == 2
        assert wrong.stderr == (
            f"Lỗi: Máy chủ thư 127.0.0.1 từ chối đăng nhập của {USER}: sai tên hoặc mật khẩu. Với Gmail, hãy "
            "dùng mật khẩu ứng dụng (xem README: Hộp thư Gmail).\n"
        )
        assert "sai-mat-khau" not in wrong.output
        assert smtp.received() == []
        assert not (tmp_path / "b" / STATE).exists()


def test_replies_from_a_fetched_copy_answer_the_same_messages(report: Path, tmp_path: Path) -> None:
    copy = tmp_path / "hop-thu"
    assert run("fetch", MBOX, "-o", copy).exit_code == 0
    again = tmp_path / "bao-cao.json"
    done = run("consolidate", copy, "-o", tmp_path / "th.xlsx", "--period", "2024-6T", "--report", again)
    assert done.exit_code == 1
    assert set(originals(again)) == set(originals(report))
    run("reply", "--report", report, "--from", FROM, "-o", tmp_path / "a")
    run("reply", "--report", again, "--from", FROM, "-o", tmp_path / "b")
    names = [sorted(p.name for p in (tmp_path / d).iterdir()) for d in ("a", "b")]
    assert names[0] == names[1] and len(names[0]) == 15
