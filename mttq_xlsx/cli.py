"""Command line: a thin click layer over the library. Exit 0 clean, 1 findings, 2 usage or fatal."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from . import __version__
from .errors import MttqError
from .periods import Period, current_period, parse_period
from .roster import Unit, province_units, read_roster, write_roster
from .specs import load_report, report_ids
from .template import TemplateRequest, template_filename, write_template

F = TypeVar("F", bound=Callable[..., Any])
EXIT_FINDINGS = 1
EXIT_FATAL = 2


def fail(message: str) -> NoReturn:
    click.echo(f"Lỗi: {message}", err=True)
    sys.exit(EXIT_FATAL)


def handle_errors(func: F) -> F:
    """Turn library errors into a Vietnamese message and exit 2."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except MttqError as exc:
            fail(str(exc))

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper  # type: ignore[return-value]


def period_options(func: F) -> F:
    """--period, --start and --end, shared by every command that needs a period."""
    func = click.option("--end", "end", type=click.DateTime(["%Y-%m-%d"]), default=None,
                        help="Ngày cuối của số liệu, nếu khác cuối kỳ (YYYY-MM-DD).")(func)
    func = click.option("--start", "start", type=click.DateTime(["%Y-%m-%d"]), default=None,
                        help="Ngày đầu của số liệu, nếu khác đầu kỳ (YYYY-MM-DD).")(func)
    return click.option("--period", "period", default=None,
                        help="Kỳ báo cáo: 2024-6T (6 tháng đầu năm) hoặc 2024 (cả năm).")(func)


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
        report = load_report(report_id)
        click.echo(f"{report.id} (phiên bản {report.version}): {report.title}")
        for form in report.forms:
            click.echo(f"  {form.id:<10} {form.sheet:<10} {len(form.fields):>3} trường  {form.title}")


@main.command()
@click.option("--province", required=True, help="Tên tỉnh/thành phố (có hoặc không dấu) hoặc mã.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Tệp CSV danh sách đơn vị sẽ ghi.")
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
@click.option("-o", "--output", "output_dir", type=click.Path(file_okay=False, path_type=Path),
              required=True, help="Thư mục ghi mẫu biểu.")
@period_options
@click.option("--roster", "roster_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Danh sách đơn vị (CSV): ghi một tệp điền sẵn cho mỗi đơn vị.")
@click.option("--unit", "unit_code", help="Chỉ ghi tệp của đơn vị có mã này (cần --roster).")
@handle_errors
def template(report_id: str, output_dir: Path, period: str | None, start: datetime | None,
             end: datetime | None, roster_path: Path | None, unit_code: str | None) -> None:
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
    report = load_report(report_id)
    the_period = resolve_period(period, start, end)
    units: list[Unit] = read_roster(roster_path) if roster_path else []
    targets: list[Unit | None]
    if unit_code:
        chosen = [u for u in units if u.code == unit_code]
        if not chosen:
            fail(f"Không có đơn vị mã “{unit_code}” trong {roster_path}.")
        targets = list(chosen)
    else:
        targets = [None, *units]
    generated_at = datetime.now()
    for unit in targets:
        request = TemplateRequest(report, the_period, unit, units, generated_at)
        path = write_template(request, output_dir / template_filename(report, the_period, unit))
        if unit is None or len(targets) <= 3:
            click.echo(f"Đã ghi {path}")
    if len(targets) > 3:
        click.echo(f"Đã ghi {len(targets) - 1} tệp điền sẵn cho từng đơn vị vào {output_dir}.")
