"""The sheet `Biểu đồ`: native charts over the cells beside them, with the values cached in the
chart, read back from the file's XML; the highest and lowest units when there are many; and the
charts as real LibreOffice draws them (PDF, then the page's pixels: the bars' lengths)."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import openpyxl
import pytest

import mttq_xlsx
from mttq_xlsx.charts import SHOWN
from mttq_xlsx.consolidation import Consolidation
from mttq_xlsx.model import FileRecord, Submission
from mttq_xlsx.periods import parse_period
from mttq_xlsx.spec import load_spec
from tools import libreoffice as lo
from tools import sample_plan as plan

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
SHEET = "Biểu đồ"
C = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
BSL = load_spec("bieu-so-lieu")


def _samples() -> Consolidation:
    return mttq_xlsx.consolidate(
        SAMPLES / "inbox", roster=SAMPLES / "don-vi.csv", period=plan.PERIOD, deadline=plan.DEADLINE
    )


def chart_caches(path: Path) -> list[dict[str, Any]]:
    """Every chart of the workbook: its title, the ranges of its series and the cached values."""
    charts = []
    with zipfile.ZipFile(path) as z:
        names = sorted((n for n in z.namelist() if re.match(r"xl/charts/chart\d+\.xml$", n)), key=_number)
        for name in names:
            root = ElementTree.fromstring(z.read(name))
            series = root.find(f".//{C}ser")
            assert series is not None
            cat, val = series.find(f"{C}cat"), series.find(f"{C}val")
            assert cat is not None and val is not None
            charts.append(
                {
                    "title": "".join(
                        t.text or ""
                        for t in root.iter("{http://schemas.openxmlformats.org/drawingml/2006/main}t")
                    ),
                    "categories": cat.findtext(f".//{C}f"),
                    "values": val.findtext(f".//{C}f"),
                    "labels": [p.findtext(f"{C}v") for p in cat.iter(f"{C}pt")],
                    "numbers": [float(p.findtext(f"{C}v") or "nan") for p in val.iter(f"{C}pt")],
                }
            )
    return charts


def _number(name: str) -> int:
    return int(re.findall(r"\d+", name)[-1])


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return mttq_xlsx.write_summary(_samples(), tmp_path_factory.mktemp("charts") / "tong-hop.xlsx")


def test_charts_of_the_samples_with_their_values_cached(summary: Path) -> None:
    charts = chart_caches(summary)
    assert [c["title"] for c in charts] == [
        "Tiến độ nộp báo cáo: đã nhận 11/11 đơn vị",
        "Tỷ lệ khu dân cư đạt chuẩn khu dân cư văn hóa (chung: 83,90%)",
        "Tỷ lệ gia đình đạt chuẩn “Gia đình văn hóa” (chung: 85,28%)",
        "Tỷ lệ hộ nghèo (chung: 7,33%)",
        "Tỷ lệ người tham gia bảo hiểm y tế (chung: 97,09%)",
        "Tỷ lệ hòa giải thành công (chung: 72,88%)",
    ]
    done = charts[0]
    assert done["labels"] == ["Đúng hạn", "Nộp muộn", "Chưa nộp"]
    assert done["numbers"] == [10, 1, 0]  # Đình Lập was late
    mediation = charts[-1]
    assert mediation["labels"][0] == "Thành phố Lạng Sơn"
    assert mediation["numbers"][0] == pytest.approx(118 / 142)
    assert mediation["numbers"] == sorted(mediation["numbers"], reverse=True)
    assert len(mediation["numbers"]) == 11
    # the cache is what the cells say
    ws = openpyxl.load_workbook(summary)[SHEET]
    for chart in charts:
        cells = re.fullmatch(r"'Biểu đồ'!\$D\$(\d+):\$D\$(\d+)", chart["values"])
        assert cells, chart["values"]
        first, last = int(cells[1]), int(cells[2])
        assert [ws.cell(r, 4).value for r in range(first, last + 1)] == pytest.approx(chart["numbers"])
        assert [ws.cell(r, 3).value for r in range(first, last + 1)] == chart["labels"]
    row = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 3).value == "Thành phố Lạng Sơn")
    assert ws.cell(row, 5).value == "85/88"


def _many(n: int) -> Consolidation:
    """A run of `n` communes whose mediation ratios are all different."""
    subs = []
    for k in range(n):
        code = f"{k:05}"
        record = FileRecord(
            f"{code}.xlsx", "0" * 64, report_id=BSL.id, unit_code=code, unit_name=f"Xã số {k}"
        )
        values = {"hoa_giai_so_vu": 100, "hoa_giai_thanh": 20 + k}
        subs.append(Submission(record, BSL.id, BSL.version, "2024", code, record.unit_name, values))
    return Consolidation(parse_period("2024"), [s.file for s in subs], [], subs, [])


def test_many_units_chart_the_highest_and_the_lowest(tmp_path: Path) -> None:
    run = _many(40)
    path = mttq_xlsx.write_summary(run, tmp_path / "tong-hop.xlsx")  # 40 units: one sheet each
    rows = mttq_xlsx.write_summary(run, tmp_path / "hang.xlsx", per_unit="rows")  # constant memory
    for written in (path, rows):
        charts = chart_caches(written)
        titles = [c["title"] for c in charts]
        assert titles[1:] == [
            f"Tỷ lệ hòa giải thành công (chung: 39,50%): {SHOWN} đơn vị cao nhất trên 40 đơn vị",
            f"Tỷ lệ hòa giải thành công (chung: 39,50%): {SHOWN} đơn vị thấp nhất trên 40 đơn vị",
        ]
        top, bottom = charts[1], charts[2]
        assert top["labels"][:2] == ["Xã số 39", "Xã số 38"] and len(top["labels"]) == SHOWN
        assert top["numbers"][0] == pytest.approx(0.59)
        assert bottom["labels"][-1] == "Xã số 0" and bottom["numbers"][-1] == pytest.approx(0.20)
        ws = openpyxl.load_workbook(written)[SHEET]
        notes = {ws.cell(r, 3).value: ws.cell(r, 5).value for r in range(1, ws.max_row + 1)}
        assert (notes["Xã số 39"], notes["Xã số 25"], notes["Xã số 14"], notes["Xã số 0"]) == (
            "59/100",
            "45/100",
            "34/100",
            "20/100",
        )
        assert "Xã số 24" not in notes  # neither among the highest 15 nor the lowest
    assert len(chart_caches(mttq_xlsx.write_summary(_many(30), tmp_path / "ba-muoi.xlsx"))) == 2


# ---------------------------------------------------------------------- as LibreOffice draws them
ON_TIME, LATE, BLUE = (0x70, 0xAD, 0x47), (0xED, 0x7D, 0x31), (0x44, 0x72, 0xC4)


def _ppm(path: Path) -> tuple[int, int, bytes]:
    """Width, height and RGB bytes of a binary PPM (what pdftoppm writes)."""
    data = path.read_bytes()
    fields = re.match(rb"P6\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
    assert fields, "not a binary PPM"
    return int(fields[1]), int(fields[2]), data[fields.end() :]


def _bars(image: tuple[int, int, bytes], color: tuple[int, int, int]) -> list[int]:
    """The length in pixels of each bar of `color`, top to bottom (a bar: rows holding that colour)."""
    width, height, rgb = image
    pixel = bytes(color)
    lengths: list[int] = []
    inside = False
    for y in range(height):
        run = rgb[y * width * 3 : (y + 1) * width * 3].count(pixel)  # a bar is filled with its colour
        if run > 3:
            lengths += [] if inside else [0]
            lengths[-1] = max(lengths[-1], run)
        inside = run > 3
    return lengths


@pytest.mark.libreoffice
def test_libreoffice_draws_the_bars(summary: Path, tmp_path: Path) -> None:
    reason = lo.available()
    if reason is not None:
        pytest.skip(f"LibreOffice not usable here: {reason}")
    if not (shutil.which("pdftotext") and shutil.which("pdftoppm")):
        pytest.skip("poppler-utils (pdftotext, pdftoppm) not installed")
    pdf = lo.convert(summary, "pdf", tmp_path)
    pages = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    )
    texts = pages.stdout.split("\f")
    page = next(n for n, text in enumerate(texts, 1) if text.lstrip().startswith("BIỂU ĐỒ"))
    assert "Tiến độ nộp báo cáo: đã nhận 11/11 đơn vị" in texts[page - 1]
    assert (
        "Tỷ lệ khu dân cư đạt chuẩn khu dân cư văn hóa (chung: 83,90%)" in texts[page - 1]
    )  # the chart's title
    subprocess.run(
        ["pdftoppm", "-f", str(page), "-l", str(page), "-r", "100", str(pdf), str(tmp_path / "p")], check=True
    )
    (ppm,) = tmp_path.glob("p*.ppm")
    image = _ppm(ppm)
    (on_time,), (late,) = _bars(image, ON_TIME), _bars(image, LATE)
    assert on_time / late == pytest.approx(10, rel=0.1)  # 10 units on time, 1 late
    blue = _bars(image, BLUE)
    assert len(blue) == 11  # the residential areas' chart: a bar per district
    assert blue[0] / blue[1] == pytest.approx((85 / 88) / (186 / 212), rel=0.03)
    assert blue == sorted(blue, reverse=True)
