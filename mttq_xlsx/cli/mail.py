"""The mail commands: `fetch` (a local copy of a mailbox) and `reply` (acknowledgements)."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click

from .. import api
from ..consolidation import EXIT_CLEAN, EXIT_FINDINGS
from ..intake import readable
from .options import DATE, OUTPUT_DIR, ask_password, handle_errors, mail_access, mail_options, secret_options


@click.command()
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
    done = api.fetch(
        source, output, mail=mail_access(folder, since, password_file, insecure), workers=workers
    )
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


@click.command()
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
        password=ask_password(password_file),
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
