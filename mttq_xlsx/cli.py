"""Command line: a thin click layer over the library. Exit 0 clean, 1 findings, 2 usage or fatal."""

from __future__ import annotations

import contextlib
import functools
import sys
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from . import __version__, api, mailserver
from .codes import ACCEPTED, ERROR, IGNORED, REJECTED, SEVERITY_WORDS, SUPERSEDED, WARNING
from .consolidation import EXIT_CLEAN, EXIT_FINDINGS, Consolidation
from .errors import MttqError
from .ingest import Progress
from .intake import readable
from .mailboxes import MailAccess
from .periods import Period, current_period, parse_period
from .roster import province_units, write_roster
from .spec import report_ids

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
READ_STATES = {ACCEPTED: "đọc được", REJECTED: "bị loại", IGNORED: "bỏ qua"}  # `check`, per file


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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mttq-xlsx")
def main() -> None:
    """Mẫu biểu Excel khóa ô và tổng hợp báo cáo của Mặt trận Tổ quốc."""


@main.command()
@handle_errors
def forms() -> None:
    """Liệt kê các báo cáo, biểu và phiên bản đặc tả.

    \b
    Ví dụ:
        mttq-xlsx forms
    """
    for report_id in report_ids():
        spec = api.load_spec(report_id)
        click.echo(f"{spec.id} (phiên bản {spec.version}): {spec.title}")
        for form in spec.forms:
            click.echo(f"  {form.id:<10} {form.sheet:<10} {len(form.fields):>3} trường  {form.title}")


@main.command()
@click.option("--province", required=True, help="Tên tỉnh/thành phố (có hoặc không dấu) hoặc mã.")
@click.option("-o", "--output", type=OUTPUT_FILE, required=True, help="Tệp CSV danh sách đơn vị sẽ ghi.")
@handle_errors
def roster(province: str, output: Path) -> None:
    """Ghi danh sách đơn vị (xã, phường, đặc khu) của một tỉnh ra tệp CSV.

    \b
    Ví dụ:
        mttq-xlsx roster --province "Lạng Sơn" -o don-vi.csv
    """
    units = province_units(province)
    write_roster(units, output)
    click.echo(f"Đã ghi {len(units)} đơn vị vào {output}.")


@main.command()
@click.argument("report_id")
@click.option(
    "-o",
    "--output",
    "output_dir",
    type=click.Path(path_type=Path),
    required=True,
    help="Thư mục ghi mẫu biểu.",
)
@period_options
@click.option(
    "--roster",
    "roster_path",
    type=click.Path(path_type=Path),
    help="Danh sách đơn vị (CSV): ghi một tệp điền sẵn cho mỗi đơn vị.",
)
@click.option("--unit", "unit_code", help="Chỉ ghi tệp của đơn vị có mã này (cần --roster).")
@handle_errors
def template(
    report_id: str,
    output_dir: Path,
    period: str | None,
    start: datetime | None,
    end: datetime | None,
    roster_path: Path | None,
    unit_code: str | None,
) -> None:
    """Tạo mẫu biểu Excel đã khóa ô để gửi cho các đơn vị.

    Không có --roster: một mẫu chung. Có --roster: thêm một tệp điền sẵn tên,
    mã đơn vị cho mỗi đơn vị trong danh sách.

    \b
    Ví dụ:
        mttq-xlsx template bieu-so-lieu -o mau-bieu/ --period 2024-6T
        mttq-xlsx template phu-luc-1 -o mau-bieu/ --period 2024 --roster don-vi.csv
    """
    if unit_code and not roster_path:
        fail("--unit cần đi kèm --roster (danh sách đơn vị có mã đó).")
    spec = api.load_spec(report_id)
    paths = api.write_templates(
        spec, output_dir, resolve_period(period, start, end), roster=roster_path, unit=unit_code
    )
    for n, path in enumerate(paths):
        if (n == 0 and not unit_code) or len(paths) <= 3:
            click.echo(f"Đã ghi {path}")
    if len(paths) > 3:
        click.echo(f"Đã ghi {len(paths) - 1} tệp điền sẵn cho từng đơn vị vào {output_dir}.")


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


def _ask(password_file: Path | None) -> Callable[[str], str]:
    """The password of an account, from the file, the environment or a prompt (never echoed)."""

    def prompt(text: str) -> str:
        return str(click.prompt(text, hide_input=True, err=True))

    def ask(account: str) -> str:
        return mailserver.password(password_file, prompt if sys.stdin.isatty() else None, account)

    return ask


def _access(
    folder: str | None, since: datetime | None, password_file: Path | None, insecure: bool
) -> MailAccess:
    return MailAccess(folder, since.date() if since else None, insecure, _ask(password_file))


def _roster_option(func: F) -> F:
    return click.option(
        "--roster",
        "roster_path",
        type=click.Path(path_type=Path),
        help="Danh sách đơn vị (CSV code,name,parent_code,kind) để biết ai chưa nộp.",
    )(func)


def _finish(result: Consolidation, report_path: Path | None) -> int:
    """Write the JSON report if asked, print what happened and return the exit status."""
    if report_path:
        api.write_json_report(result, report_path)
        click.echo(f"Báo cáo JSON: {readable(report_path)}")
    statuses = Counter(f.status for f in result.files)
    severities = Counter(i.severity for i in result.issues)
    click.echo(
        f"Đã đọc {len(result.files)} tệp: {statuses[ACCEPTED]} được nhận, {statuses[REJECTED]} bị loại, "
        f"{statuses[SUPERSEDED]} bị thay thế bởi bản mới hơn, {statuses[IGNORED]} bỏ qua."
    )
    click.echo(f"Lỗi: {severities[ERROR]}; cảnh báo: {severities[WARNING]}.")
    if result.roster:
        done = result.completeness
        missing = ", ".join(done.missing[:10]) + (" …" if len(done.missing) > 10 else "")
        click.echo(
            f"Đã nhận {done.received}/{done.expected} đơn vị; chưa nộp: {len(done.missing)}"
            + (f" ({missing})" if done.missing else "")
            + f"; nộp muộn: {len(done.late)}."
        )
    return result.exit_status


@contextlib.contextmanager
def _progress_bar() -> Iterator[Progress | None]:
    """A progress bar on a terminal (it appears with the first file read), nothing otherwise."""
    if not sys.stderr.isatty():
        yield None
        return
    with contextlib.ExitStack() as stack:
        bars: list[Any] = []

        def progress(done: int, total: int) -> None:
            if not bars:
                bars.append(
                    stack.enter_context(click.progressbar(length=total, label="Đang đọc", file=sys.stderr))
                )
            bars[0].update(1)

        yield progress


@main.command()
@click.argument("inbox")
@click.option(
    "-o",
    "--output",
    type=OUTPUT_FILE,
    default=Path("tong-hop.xlsx"),
    show_default=True,
    help="Bảng tổng hợp sẽ ghi.",
)
@_roster_option
@period_options
@click.option(
    "--deadline",
    type=DATE,
    default=None,
    help="Hạn nộp (YYYY-MM-DD); tệp lưu sau cuối ngày đó (giờ Việt Nam) là nộp muộn.",
)
@report_option
@click.option("--password", default=None, help="Mật khẩu chung của các tệp có đặt mật khẩu.")
@click.option(
    "--per-unit",
    type=click.Choice(["auto", "sheets", "rows"]),
    default="auto",
    show_default=True,
    help="Số liệu từng đơn vị: mỗi đơn vị một trang (sheets), hay một trang chung (rows).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Số tiến trình đọc tệp (mặc định: số lõi CPU).",
)
@click.option("--rollup", type=OUTPUT_FILE, help="Ghi báo cáo của chính đơn vị tổng hợp để gửi cấp trên.")
@click.option("--as-unit", "as_unit", help="Mã đơn vị tổng hợp (cần cho --rollup), ví dụ 20 (tỉnh Lạng Sơn).")
@click.option("--as-unit-name", "as_unit_name", help="Tên đơn vị tổng hợp, nếu khác tên trong danh sách.")
@click.option(
    "--against",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    multiple=True,
    help="Báo cáo tổng hợp của đơn vị cấp trên, đối chiếu với các đơn vị trong INBOX.",
)
@mail_options
@handle_errors
def consolidate(
    inbox: str,
    output: Path,
    roster_path: Path | None,
    period: str | None,
    start: datetime | None,
    end: datetime | None,
    deadline: datetime | None,
    report_path: Path | None,
    password: str | None,
    per_unit: str,
    workers: int | None,
    rollup: Path | None,
    as_unit: str | None,
    as_unit_name: str | None,
    against: tuple[Path, ...],
    folder: str | None,
    since: datetime | None,
    password_file: Path | None,
    insecure: bool,
) -> None:
    """Tổng hợp mọi tệp báo cáo của INBOX: một thư mục (kể cả thư mục con và thư .eml), một
    tệp mbox, một thư mục Maildir, hoặc hộp thư IMAP imaps://TÊN@MÁY-CHỦ/THƯ-MỤC.

    Đọc .xlsx, .xlsm, .xlsb, .xls, .ods, kể cả trong tệp nén .zip và tệp đính kèm của thư;
    kiểm tra số liệu; ghi bảng tổng hợp. Không sửa, không di chuyển tệp hay thư nào trong INBOX
    (thư IMAP được đọc mà không đánh dấu đã đọc). Mật khẩu hộp thư: biến môi trường
    MTTQ_MAIL_PASSWORD, --password-file, hoặc gõ khi được hỏi. Mã thoát: 0 không có vấn đề,
    1 có lỗi, cảnh báo hoặc đơn vị chưa nộp, 2 không chạy được.

    Với --rollup và --as-unit: ghi thêm báo cáo của chính đơn vị tổng hợp để gửi cấp trên
    (cộng số liệu các đơn vị, gộp phần chữ, kèm số liệu từng đơn vị). Báo cáo của một đơn vị
    có đơn vị trực thuộc (cột parent_code) được đối chiếu với báo cáo của các đơn vị đó;
    --against đối chiếu thêm một báo cáo tổng hợp với các đơn vị trong INBOX.

    \b
    Ví dụ:
        mttq-xlsx consolidate hop-thu/ -o tong-hop.xlsx --roster don-vi.csv \\
            --period 2024-6T --deadline 2024-06-10 --report bao-cao.json
        mttq-xlsx consolidate hop-thu/ --roster don-vi.csv --period 2024-6T \\
            --rollup tong-hop-tinh.xlsx --as-unit 20
        mttq-xlsx consolidate hop-thu/ --roster don-vi.csv --against tong-hop-tinh.xlsx
        mttq-xlsx consolidate hop-thu.mbox -o tong-hop.xlsx --roster don-vi.csv --period 2024-6T
        mttq-xlsx consolidate imaps://tonghop.mttq@gmail.com/INBOX --since 2024-05-20 \\
            -o tong-hop.xlsx --roster don-vi.csv --period 2024-6T
    """
    if rollup and not as_unit:
        fail("--rollup cần đi kèm --as-unit (mã của đơn vị tổng hợp, ví dụ --as-unit 20).")
    if (as_unit or as_unit_name) and not rollup:
        fail("--as-unit và --as-unit-name chỉ dùng cùng --rollup (tệp báo cáo tổng hợp sẽ ghi).")
    api.guard_outputs(inbox, output, report_path, rollup)
    unit = api.rollup_unit(as_unit, as_unit_name, roster_path) if rollup and as_unit else None
    the_period = resolve_period(period, start, end) if period else None
    with _progress_bar() as progress:
        result = api.consolidate(
            inbox,
            roster=roster_path,
            period=the_period,
            deadline=deadline.date() if deadline else None,
            password=password,
            workers=workers,
            progress=progress,
            against=against,
            mail=_access(folder, since, password_file, insecure),
        )
    api.write_summary(result, output, per_unit=per_unit)
    status = _finish(result, report_path)
    click.echo(f"Bảng tổng hợp: {readable(output)}")
    if rollup and unit:
        paths = api.write_rollup(result, rollup, unit)
        for path in paths:
            click.echo(f"Báo cáo gửi cấp trên ({unit.name}): {readable(path)}")
        if not paths:
            click.echo("Chưa nhận được báo cáo nào nên không ghi báo cáo gửi cấp trên.")
    sys.exit(status)


@main.command()
@click.argument("files", nargs=-1, required=True)
@report_option
@click.option("--password", default=None, help="Mật khẩu của tệp, nếu có.")
@mail_options
@handle_errors
def check(
    files: tuple[str, ...],
    report_path: Path | None,
    password: str | None,
    folder: str | None,
    since: datetime | None,
    password_file: Path | None,
    insecure: bool,
) -> None:
    """Kiểm tra tệp báo cáo trước khi gửi: kiểu số liệu, tổng, tỷ lệ, phần trong tổng.

    FILES: tệp bảng tính, tệp nén .zip, thư .eml, tệp mbox, thư mục (Maildir) hoặc hộp thư IMAP.
    Mã thoát: 0 không có vấn đề, 1 có lỗi hoặc cảnh báo, 2 không chạy được.

    \b
    Ví dụ:
        mttq-xlsx check bieu-so-lieu_2024-6T_05977_phuong-dong-kinh.xlsx
        mttq-xlsx check "Báo cáo Đông Kinh.eml"
    """
    for item in files:
        if not mailserver.is_address(item) and not Path(item).exists():
            fail(f"Không thấy tệp “{readable(item)}”. Hãy kiểm tra lại đường dẫn.")
    result = api.check(files, password=password, mail=_access(folder, since, password_file, insecure))
    for record in result.files:
        state = READ_STATES.get(record.status, record.status)
        click.echo(f"{record.path}: {state}" + (f" — {record.message}" if record.message else ""))
        for issue in (i for i in result.issues if i.path == record.path and i.code != record.reason):
            click.echo(f"  {SEVERITY_WORDS.get(issue.severity, issue.severity)}: {issue.message}")
    sys.exit(_finish(result, report_path))


@main.command()
@click.argument("source")
@click.option("-o", "--output", type=OUTPUT_DIR, required=True, help="Thư mục ghi bản sao (tạo nếu chưa có).")
@mail_options
@click.option("--workers", type=click.IntRange(1, 64), help="Số tiến trình đọc thư (mặc định: số lõi CPU).")
@handle_errors
def fetch(
    source: str,
    output: Path,
    folder: str | None,
    since: datetime | None,
    password_file: Path | None,
    insecure: bool,
    workers: int | None,
) -> None:
    """Lấy các tệp đính kèm của hộp thư về một thư mục, kèm tệp ghi chép manifest.json.

    SOURCE: hộp thư IMAP imaps://TÊN@MÁY-CHỦ/THƯ-MỤC, tệp mbox, thư mục Maildir, hoặc thư mục
    có thư .eml. Mỗi tệp đính kèm được lưu dưới một tên không thể trùng (thời điểm nhận, người
    gửi, tên tệp, mã băm); manifest.json ghi người gửi, tiêu đề, thời điểm nhận, tên tệp gốc và
    SHA-256 của từng tệp, và những thư không có tệp báo cáo. Chạy lại chỉ lấy thư mới. Hộp thư
    không bị thay đổi (thư IMAP không bị đánh dấu đã đọc). Tổng hợp bản sao bằng
    “mttq-xlsx consolidate THƯ-MỤC”: người gửi và thời điểm nhận vẫn giữ nguyên.

    \b
    Ví dụ:
        mttq-xlsx fetch imaps://tonghop.mttq@gmail.com/INBOX -o hop-thu/ --since 2024-05-20
        mttq-xlsx consolidate hop-thu/ -o tong-hop.xlsx --roster don-vi.csv --period 2024-6T
    """
    done = api.fetch(source, output, mail=_access(folder, since, password_file, insecure), workers=workers)
    click.echo(
        f"Đã lấy {done.new} thư mới vào {readable(output)}: lưu {len(done.saved)} tệp; "
        f"{len(done.without_report)} thư không có tệp báo cáo; {done.known} thư đã có từ trước."
    )
    for who in done.without_report:
        click.echo(f"  Không có tệp báo cáo: thư của {who}")
    for shown in done.not_saved:
        click.echo(f"  Không lưu được: {shown}")
    if done.other_files:
        click.echo(f"{done.other_files} tệp không nằm trong thư nào nên không được sao chép.")


@main.command()
@click.option(
    "--report",
    "report_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="Báo cáo JSON của lần tổng hợp (consolidate --report).",
)
@click.option(
    "-o",
    "--output",
    type=OUTPUT_DIR,
    default=Path("thu-tra-loi"),
    show_default=True,
    help="Thư mục ghi thư trả lời (.eml) và danh sách thư đã gửi (da-gui.json).",
)
@click.option(
    "--from",
    "sender",
    default=None,
    help="Địa chỉ gửi, vd. “MTTQ tỉnh Lạng Sơn <tonghop.mttq@gmail.com>” (mặc định: tài khoản của --send).",
)
@click.option(
    "--send",
    "send_to",
    default=None,
    help="Gửi luôn qua máy chủ SMTP: smtps://TÊN@MÁY-CHỦ (cổng 465) hoặc smtp://TÊN@MÁY-CHỦ:587 (STARTTLS).",
)
@click.option("--deadline", type=DATE, help="Hạn nộp nhắc trong thư (mặc định: hạn của kỳ báo cáo).")
@secret_options
@handle_errors
def reply(
    report_path: Path,
    output: Path,
    sender: str | None,
    send_to: str | None,
    deadline: datetime | None,
    password_file: Path | None,
    insecure: bool,
) -> None:
    """Soạn thư trả lời cho từng thư đã nhận: đã nhận hay không nhận và vì sao, từng lỗi cần sửa
    (trang, ô), hạn nộp, và tệp gửi lại sẽ thay thế tệp cũ.

    Đọc báo cáo JSON của lần tổng hợp (không đọc lại hộp thư). Mặc định chỉ ghi thư ra tệp .eml
    để xem lại; với --send thì gửi luôn. Thư đã gửi được ghi vào da-gui.json trong thư mục ghi,
    nên chạy lại không gửi trùng. Mã thoát: 0 xong, 1 có thư không gửi được, 2 không chạy được.

    \b
    Ví dụ:
        mttq-xlsx reply --report bao-cao.json --from "MTTQ tỉnh Lạng Sơn <tonghop.mttq@gmail.com>"
        mttq-xlsx reply --report bao-cao.json --send smtps://tonghop.mttq@gmail.com
    """
    done = api.reply(
        report_path,
        output,
        sender,
        send=send_to,
        deadline=deadline.date() if deadline else None,
        password=_ask(password_file),
        insecure=insecure,
    )
    if send_to:
        click.echo(f"Đã gửi {len(done.sent)} thư trả lời; bản lưu trong {readable(output)}.")
    else:
        click.echo(f"Đã soạn {len(done.written)} thư trả lời trong {readable(output)} để xem lại.")
    if done.already:
        click.echo(f"{done.already} thư đã được trả lời từ lần trước: không gửi lại.")
    for path in done.no_address:
        click.echo(f"Không trả lời được (thư không có địa chỉ người gửi): {path}")
    for failure in done.failed:
        click.echo(f"Không gửi được: {failure}")
    sys.exit(EXIT_FINDINGS if done.failed or done.no_address else EXIT_CLEAN)


if __name__ == "__main__":
    main()
