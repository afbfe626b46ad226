"""The approved-time CSV rules: every error names the line, the column and the rule."""

from __future__ import annotations

import datetime as dt

import pytest

from interlock.connectors.csvdrop.rows import Format, ParsedFile, parse_file, version_of

TODAY = dt.date(2024, 5, 10)
HEADER = (
    "entry_id,consultant_email,project_code,task_code,date,hours,billable,description,"
    "approved_by,approved_at"
)
GOOD = (
    "T-1,Ana.Silva@Example.com,PRJ-7,DEV,2024-05-09,7.5,yes,Build,lead@example.com,"
    "2024-05-09T18:00:00"
)


def parse(*lines: str, fmt: Format | None = None, encoding: str = "utf-8-sig") -> ParsedFile:
    data = "\r\n".join([HEADER, *lines]).encode()
    return parse_file(data, encoding, fmt or Format(today=TODAY))


def test_a_good_row_is_normalised() -> None:
    parsed = parse(GOOD)
    assert parsed.errors == []
    assert parsed.file_error is None
    [(line, record)] = parsed.records
    assert line == 2
    assert record == {
        "entry_id": "T-1",
        "consultant_email": "ana.silva@example.com",
        "project_code": "PRJ-7",
        "task_code": "DEV",
        "date": "2024-05-09",
        "hours": "7.5",
        "billable": True,
        "description": "Build",
        "approved_by": "lead@example.com",
        "approved_at": "2024-05-09T18:00:00+00:00",
    }


@pytest.mark.parametrize(
    ("column", "value", "rule"),
    [
        ("hours", "0", "range"),
        ("hours", "24.5", "range"),
        ("hours", "-1", "range"),
        ("hours", "seven", "number"),
        ("hours", "7,5", "number"),
        ("hours", "NaN", "number"),
        ("date", "09/05/2024", "date"),
        ("date", "2024-05-12", "future"),
        ("billable", "maybe", "boolean"),
        ("approved_by", "", "required"),
        ("entry_id", "", "required"),
        ("consultant_email", "ana", "email"),
        ("approved_at", "yesterday", "datetime"),
        ("entry_id", "X" * 65, "length"),
    ],
)
def test_each_rule_names_line_column_and_rule(column: str, value: str, rule: str) -> None:
    names = HEADER.split(",")
    values = GOOD.split(",")
    values[names.index(column)] = f'"{value}"'
    parsed = parse(GOOD.replace("T-1", "T-0"), ",".join(values))
    assert [r["entry_id"] for _, r in parsed.records] == ["T-0"]
    [error] = parsed.errors
    assert (error.line, error.column, error.rule) == (3, column, rule)
    assert error.raw[column] == value  # type: ignore[call-overload]


def test_boundaries_and_spellings_that_pass() -> None:
    parsed = parse(
        GOOD.replace("7.5", "24").replace("yes", "FALSE"),
        GOOD.replace("T-1", "T-2").replace("2024-05-09,", "2024-05-11,").replace("yes", "0"),
        GOOD.replace("T-1", "T-3").replace(",DEV,", ",,").replace("Build", ""),
    )
    assert parsed.errors == []
    records = [r for _, r in parsed.records]
    assert [r["billable"] for r in records] == [False, False, True]
    assert records[0]["hours"] == "24"
    assert records[2]["task_code"] is None
    assert records[2]["description"] is None


def test_every_broken_rule_of_a_row_is_reported() -> None:
    parsed = parse("T-9,,PRJ-7,,2024-05-09,0,perhaps,,,2024-05-09")
    assert {(e.column, e.rule) for e in parsed.errors} == {
        ("consultant_email", "required"),
        ("approved_by", "required"),
        ("hours", "range"),
        ("billable", "boolean"),
    }
    assert parsed.records == []


def test_comma_decimals_with_semicolon_delimiter_and_day_first_dates() -> None:
    fmt = Format("%d.%m.%Y", ",", ";", TODAY)
    row = "T-1;a@example.com;P;;09.05.2024;7,25;1;x;boss;2024-05-09 17:00"
    data = ("\ufeff" + HEADER.replace(",", ";") + "\n" + row + "\n").encode()
    parsed = parse_file(data, "utf-8-sig", fmt)  # an Excel byte-order mark is accepted
    assert parsed.errors == []
    assert parsed.records[0][1]["hours"] == "7.25"
    assert parsed.records[0][1]["date"] == "2024-05-09"


def test_line_numbers_count_blank_lines_and_quoted_line_breaks() -> None:
    multi = GOOD.replace("Build", '"two\nlines"').replace("T-1", "T-2")
    parsed = parse(GOOD, "", multi, GOOD.replace("T-1", "T-3").replace("7.5", "99"))
    assert [line for line, _ in parsed.records] == [2, 4]
    assert parsed.records[1][1]["description"] == "two\nlines"
    assert [(e.line, e.rule) for e in parsed.errors] == [(6, "range")]


def test_a_repeated_entry_id_is_an_error_on_the_later_line() -> None:
    parsed = parse(GOOD, GOOD.replace("7.5", "8"))
    assert len(parsed.records) == 1
    [error] = parsed.errors
    assert (error.line, error.column, error.rule) == (3, "entry_id", "unique")
    assert "line 2" in error.message


def test_a_row_with_the_wrong_number_of_fields_is_an_error() -> None:
    parsed = parse(GOOD + ",extra")
    [error] = parsed.errors
    assert (error.line, error.column, error.rule) == (2, "(row)", "columns")


def test_missing_columns_fail_the_whole_file_naming_them() -> None:
    data = b"entry_id,consultant_email,date,hours\nT-1,a@example.com,2024-05-09,8\n"
    parsed = parse_file(data, "utf-8", Format(today=TODAY))
    assert parsed.records == []
    assert parsed.file_error is not None
    assert parsed.file_error.rule == "header"
    for column in ("project_code", "billable", "approved_by", "approved_at"):
        assert column in parsed.file_error.column
    assert "task_code" not in parsed.file_error.column  # optional


def test_extra_columns_are_ignored_and_header_case_does_not_matter() -> None:
    data = (HEADER.upper() + ",cost_rate\n" + GOOD + ",120\n").encode()
    parsed = parse_file(data, "utf-8", Format(today=TODAY))
    assert parsed.errors == []
    assert "cost_rate" not in parsed.records[0][1]


def test_a_wrong_delimiter_is_hinted_at() -> None:
    data = (HEADER.replace(",", ";") + "\n").encode()
    parsed = parse_file(data, "utf-8", Format(today=TODAY))
    assert parsed.file_error is not None
    assert "delimiter" in parsed.file_error.message


@pytest.mark.parametrize(
    ("data", "rule"),
    [
        (b"", "header"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "encoding"),
        ((HEADER + '\nT-1,"a"b,P,,2024-05-09,1,1,,x,2024-05-09\n').encode(), "csv"),
    ],
)
def test_a_file_that_is_not_csv_fails_whole(data: bytes, rule: str) -> None:
    parsed = parse_file(data, "utf-8-sig", Format(today=TODAY))
    assert parsed.records == []
    assert parsed.file_error is not None
    assert parsed.file_error.rule == rule


def test_the_version_changes_with_the_content_only() -> None:
    first = parse(GOOD).records[0][1]
    again = parse(GOOD.replace("7.5", "7.50").replace("yes", "true")).records[0][1]
    changed = parse(GOOD.replace("7.5", "8")).records[0][1]
    assert version_of(first) == version_of(again)
    assert version_of(first) != version_of(changed)
