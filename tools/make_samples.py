"""Build the sample inbox of tools/sample_plan.py with real LibreOffice.

Usage: python -m tools.make_samples OUTDIR      (`make samples` runs it with OUTDIR=samples)

Writes OUTDIR/inbox/ (cleared first), OUTDIR/don-vi.csv (the roster, with the units' mail
addresses), OUTDIR/hop-thu.mbox (the inbox as the units mailed it: tools/sample_mail.py),
OUTDIR/README.md and OUTDIR/ky-truoc.json (last period, see `build_previous`).
Every unit's file starts as the pre-filled template the province sent it (write_template with a
fixed generated_at); LibreOffice fills the planned cells (found through the template's own
`_mttq` field map), recalculates and saves it as .xlsx, .xls or .ods. All workbooks are made in
ONE LibreOffice session (tools.libreoffice.run_jobs).

The last-saved time. LibreOffice stamps the current time as a workbook's last-saved time
whenever it saves a modified document, so every sample would be "late" for 2024-06-10 and the
order of a unit's two versions would depend on the build. The reader takes "newest" and "late"
from exactly that time (docProps/core.xml, meta.xml, the xls summary). Setting
`DocumentProperties.ModificationDate` alone does not help (it is overwritten on save), but
marking the document unmodified right after setting it does: LibreOffice 7.4 then keeps the
given time in xlsx, xls and ods. The UNO worker does this for the job option `modified`, so the
files are not post-processed; this builder reads every workbook back and fails if its saved
time is not the planned one. The bytes differ between builds (zip timestamps); the content,
including the saved times, does not.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import xlsxwriter

import mttq_xlsx
from mttq_xlsx.periods import parse_period
from mttq_xlsx.roster import write_roster
from mttq_xlsx.template import TemplateRequest, template_filename, write_template
from tools import libreoffice as lo
from tools import sample_mail as mail
from tools import sample_plan as plan

FOREIGN_SHEET = "Sheet1"
PREVIOUS_FILE = "ky-truoc.json"


def _template(sample: plan.SampleFile, folder: Path, cache: dict[tuple[str, str], Path]) -> Path:
    key = (sample.period, sample.unit_code)
    if key not in cache:
        target = folder / f"{sample.period}_{sample.unit_code}.xlsx"
        write_template(plan.template_request(sample), target)
        cache[key] = target
    return cache[key]


def _blank_workbook(path: Path) -> Path:
    wb = xlsxwriter.Workbook(str(path))
    wb.add_worksheet(FOREIGN_SHEET)
    wb.close()
    return path


def build_jobs(inbox: Path, work: Path) -> list[tuple[plan.SampleFile, dict[str, Any]]]:
    """One LibreOffice job per planned workbook, in plan order (older duplicates first)."""
    templates: dict[tuple[str, str], Path] = {}
    (work / "templates").mkdir()
    jobs: list[tuple[plan.SampleFile, dict[str, Any]]] = []
    for sample in plan.sample_files():
        if sample.kind in (plan.TEMPLATE, plan.TRUNCATED):
            src = _template(sample, work / "templates", templates)
            where = plan.read_field_map(src)[1].cells
            cells = [
                {"sheet": where[fid][0], "cell": where[fid][1], "value": plan.job_value(value)}
                for fid, value in sample.values.items()
            ]
            job: dict[str, Any] = {"src": src, "cells": cells, "unprotect": sample.unprotect}
        elif sample.kind == plan.FOREIGN:
            sheet = sample.cells[0][0]
            job = {
                "src": _blank_workbook(work / "blank.xlsx"),
                "rename_sheets": {FOREIGN_SHEET: sheet},
                "cells": [{"sheet": s, "cell": c, "value": v} for s, c, v in sample.cells],
            }
        else:
            continue
        dst_root = work / "truncated" if sample.kind == plan.TRUNCATED else inbox
        job |= {"dst": dst_root / sample.path, "format": sample.fmt}
        if sample.saved_at:
            job["modified"] = sample.saved_at.isoformat()
        jobs.append((sample, job))
    return jobs


def previous_inbox(folder: Path) -> Path:
    """The districts' workbooks for the first half of 2023: their templates for that period filled
    with `plan.previous_values` by the template writer (no LibreOffice: the figures are what
    matters); returns the folder."""
    spec = mttq_xlsx.load_spec(plan.REPORT_ID)
    period = parse_period(plan.PREVIOUS_PERIOD)
    for unit in plan.UNITS:
        values = plan.previous_values(unit.code)
        request = TemplateRequest(spec, period, unit, generated_at=plan.PREVIOUS_SAVED, values=values)
        write_template(request, folder / template_filename(spec, period, unit))
    return folder


def previous_run(folder: Path) -> mttq_xlsx.Consolidation:
    """The office's run for the first half of 2023, on `previous_inbox(folder)`."""
    return mttq_xlsx.consolidate(
        previous_inbox(folder),
        roster=plan.UNITS,
        period=plan.PREVIOUS_PERIOD,
        deadline=plan.PREVIOUS_DEADLINE,
    )


def build_previous(target: Path) -> Path:
    """The JSON report of the districts' run for the first half of 2023 (`--previous`)."""
    with tempfile.TemporaryDirectory(prefix="mttq_previous_") as tmp:
        return mttq_xlsx.write_json_report(previous_run(Path(tmp) / "hop-thu"), target)


def readme() -> str:
    """samples/README.md, from the plan."""
    rows = []
    for f in plan.sample_files():
        outcome = f.status + (f" `{f.reason}`" if f.reason and f.status != "superseded" else "")
        if f.status == "superseded":
            outcome = "superseded `duplicate_superseded`"
        codes = ", ".join(
            f"{i.severity} `{i.code}`" + (f" ({i.field_id})" if i.field_id else "") for i in f.issues
        )
        if f.status == "accepted" and codes:
            outcome += f"; {codes}"
        if f.status == "accepted" and plan.is_late(f):
            outcome += "; late"
        rows.append(f"| `{f.path}` | {f.about_vi} / {f.about_en} | {outcome} |")
    totals = plan.expected_totals()
    late = ", ".join(
        f"{f.unit_code} ({plan.unit_of(f.unit_code).name})" for f in plan.accepted_files() if plan.is_late(f)
    )
    figures = "\n".join(f"- `{fid}` = {totals[fid]}" for fid in plan.PROVINCE_REPORT)
    outliers = len(plan.PREVIOUS_SLIPS) + len(plan.PEER_OUTLIERS)
    slips_text = ", ".join(f"{plan.unit_of(code).name} `{fid}`" for code, fid in plan.PREVIOUS_SLIPS)
    peers_text = ", ".join(f"{plan.unit_of(code).name} `{fid}`" for code, fid in plan.PEER_OUTLIERS)
    table = "\n".join(rows)
    mails = "\n".join(
        f"| {m.received:%d/%m %H:%M} | {plan.unit_of(m.code).name if m.code else m.sender[0]} | "
        f"{m.client} | {', '.join(f'`{f}`' for f in m.files) or '(không đính kèm / none)'}"
        f"{f' (nén trong / zipped in `{m.zipped}`)' if m.zipped else ''}"
        f"{' (chuyển tiếp / forwarded)' if m.forwarded_from else ''} |"
        for m in mail.mails()
    )
    return f"""# Hộp thư mẫu / Sample inbox

Tạo tự động bởi `tools/make_samples.py` (đừng sửa tay) — generated, do not edit by hand.
Dựng lại / rebuild: `make samples` (cần LibreOffice / needs LibreOffice and python3-uno).

**Tiếng Việt.** 11 đơn vị cấp huyện của tỉnh Lạng Sơn (trước năm 2025) gửi *Biểu số liệu* kỳ
6 tháng đầu năm 2024 (`2024-6T`), hạn nộp 10/6/2024. Danh sách đơn vị: `don-vi.csv`. Mỗi tệp
được điền từ mẫu biểu riêng của đơn vị rồi lưu bằng LibreOffice dạng .xlsx, .xls hoặc .ods; có
cả các lỗi hay gặp. Số liệu các bản được chấp nhận cộng lại đúng bằng báo cáo 6 tháng đầu năm
2024 của tỉnh: hòa giải thành **739/1.014** vụ việc (72,88%; báo cáo ghi 72,87% do cắt bớt chữ
số), **1.646/1.646** khu dân cư có tổ hòa giải, tuyên truyền **1.767 cuộc với 140.278 lượt**
người. Ô để trống nghĩa là đơn vị không báo cáo, không phải bằng 0.

**English.** The 11 district-level units of Lạng Sơn province (before the 2025 reform) send the
`bieu-so-lieu` report for the first half of 2024, due 2024-06-10; roster in `don-vi.csv`. Each
file is the unit's own pre-filled template, filled and saved by LibreOffice as .xlsx, .xls or
.ods, with the usual mistakes. The accepted files add up exactly to the province's 2024
six-month report: 739/1,014 mediations settled, 1,646/1,646 residential areas with a mediation
team, 1,767 information sessions with 140,278 attendances. A blank cell means "not reported",
not zero.

```
mttq-xlsx consolidate samples/inbox -o out/tong-hop.xlsx --roster samples/don-vi.csv \\
    --period 2024-6T --deadline 2024-06-10 --report out/bao-cao.json
```

Kết quả mong đợi / expected: 11/11 đơn vị đã nộp / units received; nộp muộn / late: {late}.
{figures}

**Kỳ trước / last period.** `{PREVIOUS_FILE}` là báo cáo JSON của lần tổng hợp kỳ 6 tháng đầu năm
2023 của cùng 11 đơn vị / the JSON report of the same districts' run for the first half of 2023:
số liệu mỗi đơn vị bằng 88–96% năm 2024, quy mô (số xã, khu dân cư, hộ, nhân khẩu) giữ nguyên, trừ
vài số khác hẳn / each district's figures 88–96% of 2024's, its size unchanged, but for a few slips.

```
mttq-xlsx consolidate samples/inbox -o out/tong-hop.xlsx --roster samples/don-vi.csv \\
    --period 2024-6T --deadline 2024-06-10 --previous samples/{PREVIOUS_FILE} --docx out/bao-cao.docx
```

Kết quả mong đợi / expected: trang `So sánh` và {outliers} cảnh báo `outlier` / a `So sánh` sheet and
{outliers} `outlier` warnings:
- so với kỳ trước / against last period: {slips_text};
- so với các đơn vị khác / against the other units: {peers_text}.

Lưu ý / note: khi lưu .xls, LibreOffice ghi sẵn kết quả rỗng của ô công thức là 0 (vd. `kp_tong` của
Văn Lãng); công cụ vẫn coi tổng của các ô trống là trống / LibreOffice's .xls export caches a blank
formula result as 0 (e.g. Văn Lãng's `kp_tong`); the tool still treats a total of blank parts as blank.

| tệp / file (`inbox/`) | nội dung / what it is | công cụ báo / the tool says |
|---|---|---|
{table}

## Hộp thư / The mailbox: `{mail.MBOX}`

**Tiếng Việt.** Cũng các tệp đó, như các đơn vị đã gửi qua thư điện tử tới {mail.OFFICE}, xuất
từ Gmail (Google Takeout) thành tệp mbox: mỗi đơn vị gửi từ địa chỉ ghi trong cột `email` của
`don-vi.csv`, thư đến vài phút sau khi lưu tệp. Thư được viết như Gmail, Outlook, Thunderbird,
iPhone và một trang webmail gửi (tên tệp đính kèm tiếng Việt theo từng kiểu mã hóa); có thư gửi
tệp nén, thư chuyển tiếp, thư kèm hai tệp, thư của người ngoài danh sách, và thư Đình Lập quên
đính kèm tệp (gửi lại hôm sau: nộp muộn). Tổng hợp hộp thư này cho đúng các số liệu như thư mục
`inbox/`, thêm dòng thư không có tệp báo cáo.

**English.** The same files as the units mailed them to {mail.OFFICE}, exported from Gmail
(Google Takeout) as an mbox: each unit sends from its `email` in `don-vi.csv`, a few minutes after
saving. Messages are written as Gmail, Outlook, Thunderbird, iPhone Mail and a webmail send them
(each way of encoding a Vietnamese attachment name); one sends a zip, one forwards a message,
one has two attachments, one comes from someone not on the roster, and Đình Lập first forgets the
attachment (and sends it late the next day). Consolidating the mailbox gives the figures of
`inbox/`, plus a line for the message without a report.

```
mttq-xlsx consolidate samples/{mail.MBOX} -o out/tong-hop.xlsx --roster samples/don-vi.csv \\
    --period 2024-6T --deadline 2024-06-10 --report out/bao-cao.json
```

| đến lúc / arrived | người gửi / sender | chương trình / client | tệp đính kèm / attachments |
|---|---|---|---|
{mails}
"""


def write_mail_samples(out: Path) -> None:
    """The roster, the mailbox built from the inbox as it is now, and the README (no LibreOffice)."""
    write_roster(plan.UNITS, out / "don-vi.csv")
    (out / mail.MBOX).write_bytes(mail.build_mbox(out / "inbox"))
    (out / "README.md").write_text(readme(), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path)
    args = parser.parse_args(argv)
    plan.check_plan()
    reason = lo.available()
    if reason is not None:
        print(f"make_samples: LibreOffice is needed to build the samples: {reason}", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    out: Path = args.outdir
    inbox = out / "inbox"
    if inbox.exists():
        shutil.rmtree(inbox)
    inbox.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="mttq_samples_") as tmp:
        work = Path(tmp)
        jobs = build_jobs(inbox, work)
        t1 = time.monotonic()
        results = lo.run_jobs([job for _, job in jobs])
        t2 = time.monotonic()
        failed = [
            f"{s.path}: {r.get('error')}" for (s, _), r in zip(jobs, results, strict=True) if not r["ok"]
        ]
        if failed:
            print("make_samples: LibreOffice failed:\n  " + "\n  ".join(failed), file=sys.stderr)
            return 1
        for sample, job in jobs:
            if sample.kind == plan.TRUNCATED:
                data = Path(job["dst"]).read_bytes()
                target = inbox / sample.path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data[: len(data) // 2])
    for sample in plan.sample_files():
        target = inbox / sample.path
        if sample.kind == plan.LOCK:
            target.write_bytes(plan.LOCK_BYTES)
        elif sample.kind == plan.NOTE:
            target.write_text(plan.NOTE_TEXT, encoding="utf-8")
        if sample.saved_at:  # for people browsing the folder; the reader uses the workbook's own time
            os.utime(target, (sample.saved_at.timestamp(), sample.saved_at.timestamp()))
    write_mail_samples(out)
    build_previous(out / PREVIOUS_FILE)
    problems = []
    samples = plan.template_files()
    checked = mttq_xlsx.check([inbox / s.path for s in samples])
    for sample, record in zip(samples, checked.files, strict=True):
        if record.saved_at != sample.saved_at:
            problems.append(f"{sample.path}: saved at {record.saved_at}, planned {sample.saved_at}")
    if problems:
        print("make_samples: last-saved times not kept:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    lo_seconds = sum(r["seconds"] for r in results)
    print(
        f"make_samples: {len(plan.sample_files())} files in {inbox} "
        f"({len(jobs)} LibreOffice jobs: {t2 - t1:.1f} s incl. start, {lo_seconds:.1f} s in jobs; "
        f"total {time.monotonic() - t0:.1f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
