"""What the commands share: how they fail (exit 2, in Vietnamese), and the options several of
them take (period, JSON report, roster, mailbox and mail server logins)."""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from .. import __version__, mailserver
from ..errors import MttqError
from ..mailboxes import MailAccess
from ..periods import Period, current_period, parse_period

F = TypeVar("F", bound=Callable[..., Any])
DATE = click.DateTime(["%Y-%m-%d"])
OUTPUT_FILE = click.Path(dir_okay=False, path_type=Path)
OUTPUT_DIR = click.Path(file_okay=False, path_type=Path)
PERIOD_OPTIONS = [  # in the order --help lists them
    ("--period", None, "Kỳ báo cáo: 2024-6T (6 tháng đầu năm) hoặc 2024 (cả năm)."),
    ("--start", DATE, "Ngày đầu của số liệu, nếu khác đầu kỳ (YYYY-MM-DD)."),
    ("--end", DATE, "Ngày cuối của số liệu, nếu khác cuối kỳ (YYYY-MM-DD)."),
]
EXIT_FATAL = 2


def fail(message: str) -> NoReturn:
    click.echo(f"Lỗi: {message}", err=True)
    sys.exit(EXIT_FATAL)


def handle_errors(func: F) -> F:
    """Turn library errors into a Vietnamese message and exit 2; so does a fault of the program
    itself (with its traceback for the developers), never exit 1, which means "done with findings"."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except MttqError as exc:
            fail(str(exc))
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise  # click's own ways out, which it reports itself
        except KeyboardInterrupt:
            fail(
                "Đã dừng theo yêu cầu (Ctrl+C) trước khi xong; kết quả có thể chưa được ghi đủ. Hãy chạy lại."
            )
        except Exception:
            traceback.print_exc()
            fail(
                f"Lỗi của chương trình mttq-xlsx {__version__} (không phải lỗi của các tệp báo cáo): "
                "chương trình gặp sự cố ngoài dự kiến và đã dừng; kết quả có thể chưa được ghi đủ. "
                "Hãy gửi cho người phát triển lệnh vừa chạy và toàn bộ nội dung báo lỗi ở trên "
                "(từ dòng “Traceback”), kèm tệp đang đọc nếu được."
            )

    return wrapper  # type: ignore[return-value]


def period_options(func: F) -> F:
    """--period, --start and --end, shared by every command that needs a period."""
    for name, kind, text in reversed(PERIOD_OPTIONS):
        func = click.option(name, type=kind, default=None, help=text)(func)
    return func


def report_option(func: F) -> F:
    """--report, the JSON report."""
    return click.option("--report", "report_path", type=OUTPUT_FILE, help="Ghi thêm báo cáo JSON.")(func)


def resolve_period(text: str | None, start: datetime | None, end: datetime | None) -> Period:
    base = parse_period(text) if text else current_period(date.today())
    return parse_period(base.id, start.date() if start else None, end.date() if end else None)


def secret_options(func: F) -> F:
    """--password-file and --insecure: how to log in to a mail server (never a password option)."""
    func = click.option(
        "--insecure",
        is_flag=True,
        help="Cho phép kết nối không mã hóa (imap://, SMTP không STARTTLS): chỉ với máy chủ thử "
        "nghiệm trên chính máy này.",
    )(func)
    return click.option(
        "--password-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Tệp có mật khẩu của tài khoản thư ở dòng đầu. Không có thì lấy biến môi trường "
        f"{mailserver.PASSWORD_VARIABLE}, hoặc hỏi khi chạy.",
    )(func)


def mail_options(func: F) -> F:
    """How to read a mailbox: --folder, --since, then `secret_options`."""
    func = secret_options(func)
    since = "Chỉ lấy thư nhận từ ngày này (YYYY-MM-DD, giờ Việt Nam)."
    func = click.option("--since", type=DATE, help=since)(func)
    return click.option(
        "--folder", help="Thư mục của hộp thư IMAP (mặc định INBOX; Gmail tiếng Việt: “[Gmail]/Tất cả thư”)."
    )(func)


def ask_password(password_file: Path | None) -> Callable[[str], str]:
    """The password of an account, from the file, the environment or a prompt (never echoed)."""

    def prompt(text: str) -> str:
        return str(click.prompt(text, hide_input=True, err=True))

    def ask(account: str) -> str:
        return mailserver.password(password_file, prompt if sys.stdin.isatty() else None, account)

    return ask


def mail_access(
    folder: str | None, since: datetime | None, password_file: Path | None, insecure: bool
) -> MailAccess:
    return MailAccess(folder, since.date() if since else None, insecure, ask_password(password_file))


def roster_option(func: F) -> F:
    """--roster of `consolidate`: who is expected, and (its email column) who sends from where."""
    return click.option(
        "--roster",
        "roster_path",
        type=click.Path(path_type=Path),
        help="Danh sách đơn vị (CSV code,name,parent_code,kind, thêm email nếu có) để biết ai "
        "chưa nộp và thư nào gửi từ địa chỉ của đơn vị khác.",
    )(func)
