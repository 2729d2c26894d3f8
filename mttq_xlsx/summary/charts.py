"""`Biểu đồ`: native Excel charts of what `Consolidation.charts` computed, each beside the cells it
is drawn from. The values are written as numbers in those cells and also cached in the chart, so
a viewer that does not recalculate shows the right bars."""

from __future__ import annotations

import math
from typing import Any

from .. import style
from ..charts import Chart
from ..numbers import PERCENT_FORMAT
from ..style import FONT, INTEGER_FORMAT
from .book import CHARTS_SHEET, Book, Column
from .rows import Cell, write_cells

CHART_COLUMN = 5  # the charts start at column F, right of the data
CHART_WIDTH = 640  # pixels
BAR_HEIGHT = 22  # pixels per bar
ROW_PIXELS = 20  # a row of the default height (15 points)
# what a printed page holds of the sheet, fitted to the width of data and chart, in pixels at
# 100%: a chart is put on the next page rather than cut in two
PAGE_PIXELS = 820
TITLE_WIDTH = 30


def write(book: Book, ws: Any) -> None:
    columns = [
        Column("STT", 6),
        Column("Biểu đồ", TITLE_WIDTH),
        Column("Mục, đơn vị", 28),
        Column("Số liệu", 12),
        Column("Cách tính", 14),
    ]
    header = book.title_rows(
        ws,
        [
            "BIỂU ĐỒ",
            "Mỗi biểu đồ vẽ từ các ô bên trái nó; tỷ lệ của từng đơn vị tính từ tử số và mẫu số "
            "của chính đơn vị đó.",
        ],
        columns,
    )
    book.table(ws, header, columns)
    center, wrapped = book.cell_fmt(align="center"), book.text_fmt()
    row = header + 1
    used, breaks = 3.0 * ROW_PIXELS, []  # the title rows
    for n, chart in enumerate(book.r.charts, 1):
        value_fmt = book.cell_fmt(PERCENT_FORMAT if chart.percent else INTEGER_FORMAT)
        first = row
        title_height = style.row_height((chart.title, TITLE_WIDTH))
        for k, bar in enumerate(chart.bars):
            cells: list[Cell] = [
                (0, n if k == 0 else None, center),
                (1, chart.title if k == 0 else None, wrapped),
                (2, bar.label, wrapped),
                (3, bar.value, value_fmt),
                (4, bar.note, center),
            ]
            write_cells(ws, row, cells, title_height if k == 0 else None)
            row += 1
        height = _height(chart)
        ws.insert_chart(
            first, CHART_COLUMN, _chart(book, chart, first, row - 1), {"x_offset": 10, "y_offset": 4}
        )
        row = max(row, first + math.ceil(height / ROW_PIXELS) + 1) + 1
        pixels = (row - first) * ROW_PIXELS + (title_height or 0) * 4 / 3
        if used and used + pixels > PAGE_PIXELS:
            breaks.append(first)
            used = 0
        used += pixels
    ws.set_h_pagebreaks(breaks)


def _height(chart: Chart) -> int:
    return max(200, 80 + BAR_HEIGHT * len(chart.bars))


def _chart(book: Book, chart: Chart, first: int, last: int) -> Any:
    """A bar chart of the rows first..last (labels in column C, values in D), values cached."""
    bars = chart.bars
    drawn = book.wb.add_chart({"type": "bar"})
    font = {"name": FONT, "size": 10}
    num_format = "0.00%" if chart.percent else "#,##0"
    drawn.add_series(
        {
            "name": chart.title,
            "categories": [CHARTS_SHEET, first, 2, last, 2],
            "values": [CHARTS_SHEET, first, 3, last, 3],
            # the cache a viewer that does not recalculate shows
            "categories_data": [b.label for b in bars],
            "values_data": [b.value for b in bars],
            "points": [{"fill": {"color": color}} for color in chart.colors],
            "data_labels": {"value": True, "num_format": num_format, "font": font},
            "gap": 60,
        }
    )
    drawn.set_title({"name": chart.title, "name_font": {"name": FONT, "size": 12, "bold": True}})
    drawn.set_legend({"none": True})
    value_axis: dict[str, Any] = {
        "num_font": font,
        "num_format": "0%" if chart.percent else "#,##0",
        "min": 0,
    }
    if chart.percent:
        value_axis["max"] = max(1, max(b.value for b in bars))
    drawn.set_x_axis(value_axis)
    drawn.set_y_axis({"num_font": font, "reverse": True})  # the first bar at the top
    drawn.set_size({"width": CHART_WIDTH, "height": _height(chart)})
    return drawn
