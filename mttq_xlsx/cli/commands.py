"""Command line: a thin click layer over the library (`api`): each command parses its options,
calls one library function and prints. Exit 0 clean, 1 findings, 2 usage or fatal."""

from __future__ import annotations

import contextlib
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from .. import __version__, api, mailserver
from ..codes import ACCEPTED, ERROR, IGNORED, REJECTED, SEVERITY_WORDS, SUPERSEDED, WARNING
from ..consolidation import Consolidation
from ..ingest import Progress
from ..intake import readable
from ..roster import province_units, write_roster
from ..spec import report_ids
from . import mail
from .options import (
    DATE,
    OUTPUT_FILE,
    fail,
    handle_errors,
    mail_access,
    mail_options,
    period_options,
    report_option,
    resolve_period,
    roster_option,
)

READ_STATES = {ACCEPTED: "đọc được", REJECTED: "bị loại", IGNORED: "bỏ qua"}  # `check`, per file


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
@roster_option
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
@click.option(
    "--previous",
    "previous_path",
    type=click.Path(path_type=Path),
    help="Báo cáo JSON hoặc bảng tổng hợp .xlsx của kỳ trước: thêm trang So sánh và cảnh báo số liệu "
    "khác thường (outlier).",
)
@click.option("--docx", "docx_path", type=OUTPUT_FILE, help="Ghi thêm bản nháp báo cáo Word (.docx).")
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
    previous_path: Path | None,
    docx_path: Path | None,
    folder: str | None,
    since: datetime | None,
    password_file: Path | None,
    insecure: bool,
) -> None:
    """Tổng hợp mọi tệp báo cáo của INBOX: một thư mục (kể cả thư mục con và thư .eml), một
    tệp mbox, một thư mục Maildir, hoặc hộp thư IMAP imaps://TÊN@MÁY-CHỦ/THƯ-MỤC.

    Đọc .xlsx, .xlsm, .xlsb, .xls, .ods, kể cả trong tệp nén .zip và tệp đính kèm của thư;
    kiểm tra số liệu; ghi bảng tổng hợp, có trang Số liệu báo cáo (các câu điền sẵn số liệu)
    và Biểu đồ. Không sửa, không di chuyển tệp hay thư nào trong INBOX (thư IMAP được đọc mà
    không đánh dấu đã đọc). Mật khẩu hộp thư: biến môi trường MTTQ_MAIL_PASSWORD,
    --password-file, hoặc gõ khi được hỏi. Mã thoát: 0 không có vấn đề, 1 có lỗi, cảnh báo
    hoặc đơn vị chưa nộp, 2 không chạy được.

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
        mttq-xlsx consolidate hop-thu/ -o tong-hop.xlsx --roster don-vi.csv \\
            --period 2024-6T --previous ky-truoc.json --docx bao-cao.docx
        mttq-xlsx consolidate hop-thu.mbox -o tong-hop.xlsx --roster don-vi.csv --period 2024-6T
        mttq-xlsx consolidate imaps://tonghop.mttq@gmail.com/INBOX --since 2024-05-20 \\
            -o tong-hop.xlsx --roster don-vi.csv --period 2024-6T
    """
    if rollup and not as_unit:
        fail("--rollup cần đi kèm --as-unit (mã của đơn vị tổng hợp, ví dụ --as-unit 20).")
    if (as_unit or as_unit_name) and not rollup:
        fail("--as-unit và --as-unit-name chỉ dùng cùng --rollup (tệp báo cáo tổng hợp sẽ ghi).")
    api.guard_outputs(inbox, output, report_path, rollup, docx_path)
    unit = api.rollup_unit(as_unit, as_unit_name, roster_path) if rollup and as_unit else None
    previous = api.read_previous(previous_path) if previous_path else None
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
            previous=previous,
            mail=mail_access(folder, since, password_file, insecure),
        )
    api.write_summary(result, output, per_unit=per_unit)
    if docx_path:
        api.write_docx(result, docx_path)
    status = _finish(result, report_path)
    click.echo(f"Bảng tổng hợp: {readable(output)}")
    if docx_path:
        click.echo(f"Bản nháp báo cáo Word: {readable(docx_path)}")
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
    result = api.check(files, password=password, mail=mail_access(folder, since, password_file, insecure))
    for record in result.files:
        state = READ_STATES.get(record.status, record.status)
        click.echo(f"{record.path}: {state}" + (f" — {record.message}" if record.message else ""))
        for issue in (i for i in result.issues if i.path == record.path and i.code != record.reason):
            click.echo(f"  {SEVERITY_WORDS.get(issue.severity, issue.severity)}: {issue.message}")
    sys.exit(_finish(result, report_path))


main.add_command(mail.fetch)
main.add_command(mail.reply)
