"""The benchmark's corpus builder (tools/bench.py), on a handful of communes, so it does not rot:
the templates `template --roster` writes, filled and saved again by openpyxl and LibreOffice.

No timing here: only that the generated workbooks read back through `consolidate` as the figures
that were put in.
"""

from __future__ import annotations

import json
import math
from datetime import timedelta
from pathlib import Path

import pytest

from mttq_xlsx import Options, consolidate
from mttq_xlsx.codes import ACCEPTED, ERROR
from mttq_xlsx.periods import parse_period
from mttq_xlsx.roster import all_communes, read_roster
from mttq_xlsx.spec import SUMMABLE_TYPES, load_spec
from tools import bench, libreoffice

UNITS = 5


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> bench.Corpus:
    units = all_communes()[:UNITS]
    return bench.build_corpus(tmp_path_factory.mktemp("bench") / "corpus", units, jobs=1)


def test_one_workbook_and_one_roster_line_per_unit(corpus: bench.Corpus) -> None:
    assert len(corpus.files) == UNITS
    assert all(p.is_file() and p.parent == corpus.folder for p in corpus.files)
    assert [u.code for u in read_roster(corpus.roster)] == [u.code for u in corpus.units]
    stamp = json.loads((corpus.folder.parent / bench.STAMP).read_text(encoding="utf-8"))
    assert stamp == bench.corpus_stamp(corpus.units)


def test_figures_are_deterministic_and_parts_stay_within_wholes() -> None:
    report = load_spec(bench.REPORT_ID)
    unit = all_communes()[0]
    values = bench.unit_values(report, unit)
    assert values == bench.unit_values(report, unit)
    ratios = [f for f in report.fields if f.type == "ratio"]
    for f in ratios:
        part, whole = values.get(f.numerator), values.get(f.denominator)
        if part is not None and whole is not None:
            assert 0 <= part <= whole, f.id
    inputs = [f for f in report.fields if f.is_input and f.is_numeric]
    assert all(isinstance(values.get(f.id, 0), int | float) for f in inputs)


def test_reads_back_through_consolidate_with_the_totals_put_in(corpus: bench.Corpus) -> None:
    report = load_spec(bench.REPORT_ID)
    options = Options(period=parse_period(bench.PERIOD), roster=corpus.units, workers=1)
    result = consolidate(corpus.folder, options)

    assert [f.status for f in result.files] == [ACCEPTED] * UNITS
    assert [i for i in result.issues if i.severity == ERROR] == []
    assert result.completeness.missing == []

    generated = [bench.unit_values(report, u) for u in corpus.units]
    totals = result.totals[bench.REPORT_ID]
    for f in report.fields:
        if f.type not in SUMMABLE_TYPES or f.table:
            continue
        if f.type == "total":  # a formula the template leaves to the spreadsheet: its parts
            per_unit = [[v[p] for p in f.parts if p in v] for v in generated]
            expected = [sum(parts) for parts in per_unit if parts]
        else:
            expected = [v[f.id] for v in generated if f.id in v]
        want = sum(expected) if expected else None
        assert totals[f.id] == (pytest.approx(want) if want is not None else None), f.id
    for f in report.fields:
        if f.type == "ratio" and totals[f.denominator]:
            assert math.isclose(totals[f.id], totals[f.numerator] / totals[f.denominator])


def test_text_and_blank_fields_come_back_as_written(corpus: bench.Corpus) -> None:
    report = load_spec(bench.REPORT_ID)
    options = Options(period=parse_period(bench.PERIOD), roster=corpus.units, workers=1)
    result = consolidate(corpus.folder, options)
    by_unit = {s.unit_code: s for s in result.submissions}
    inputs = [f for f in report.fields if f.is_input and not f.prefill and f.type != "date"]
    for unit in corpus.units:
        values = bench.unit_values(report, unit)
        read = by_unit[unit.code].values
        for f in inputs:
            assert read.get(f.id) == values.get(f.id), (unit.code, f.id)


def test_subset_inbox_uses_links_and_a_roster_of_its_own(corpus: bench.Corpus, tmp_path: Path) -> None:
    inbox, roster = bench.subset_inbox(corpus, 3, tmp_path)
    names = sorted(p.name for p in inbox.iterdir())
    assert names == sorted(p.name for p in corpus.files[:3])
    assert all(not (inbox / n).is_symlink() for n in names)  # consolidate skips links leaving the inbox
    assert [u.code for u in read_roster(roster)] == [u.code for u in corpus.units[:3]]
    assert bench.subset_inbox(corpus, 3, tmp_path) == (inbox, roster)  # reused as it is


@pytest.mark.parametrize("kind", ["mbox", "maildir"])
def test_a_mailbox_of_the_corpus_reads_back_as_the_folder_does(
    corpus: bench.Corpus, tmp_path: Path, kind: str
) -> None:
    """The bench's mailbox kinds: one message per unit, its workbook attached, kept beside the
    corpus under its stamp; consolidate finds the folder's figures in it, with each arrival."""
    source, roster = bench.make_inbox(corpus, corpus.files, tmp_path, "all", kind)
    assert source.parent == bench.mail_cache(corpus) and source.parent.parent == corpus.folder.parent
    assert (
        bench.make_inbox(corpus, corpus.files, tmp_path, "all", kind)[0].stat().st_mtime
        == source.stat().st_mtime
    )
    options = Options(period=parse_period(bench.PERIOD), roster=tuple(read_roster(roster)), workers=2)
    mailed, folder = consolidate(source, options), consolidate(corpus.folder, options)
    assert [f.status for f in mailed.files] == [ACCEPTED] * UNITS
    assert mailed.totals == folder.totals
    assert sorted(f.source.attachment for f in mailed.files) == sorted(p.name for p in corpus.files)
    assert sorted(f.source.received_at for f in mailed.files) == [
        bench.RECEIVED + timedelta(minutes=n) for n in range(UNITS)
    ]


@pytest.mark.libreoffice
def test_files_libreoffice_saved_read_back_in_every_format(tmp_path: Path) -> None:
    """The units LibreOffice fills (every one here) come back, in xlsx, xls and ods, with the
    figures put in."""
    if reason := libreoffice.available():
        pytest.skip(reason)
    units = all_communes()[:3]
    corpus = bench.build_corpus(tmp_path / "corpus", units, jobs=1, every=1)
    assert [p.suffix for p in corpus.files] == [".xlsx", ".xls", ".ods"]
    assert list(corpus.groups()) == ["xlsx, LibreOffice", "xls, LibreOffice", "ods, LibreOffice"]
    options = Options(period=parse_period(bench.PERIOD), roster=corpus.units, workers=1)
    result = consolidate(corpus.folder, options)
    assert [f.status for f in result.files] == [ACCEPTED] * 3
    report = load_spec(bench.REPORT_ID)
    numbers = [f for f in report.fields if f.is_input and f.is_numeric and not f.table]
    by_unit = {s.unit_code: s for s in result.submissions}
    for unit in units:
        values = bench.unit_values(report, unit)
        assert {f.id: by_unit[unit.code].values.get(f.id) for f in numbers} == {
            f.id: values.get(f.id) for f in numbers
        }, unit.code
