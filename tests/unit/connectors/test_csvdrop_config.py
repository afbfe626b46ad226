"""The CSV drop's config: a file:// root with default subfolders, or folders one by one."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from interlock.connectors.csvdrop import CsvDropConfig


def test_a_file_url_root_gives_the_default_subfolders() -> None:
    folders = CsvDropConfig(base_url="file:///srv/legacy%20psa").folders
    root = Path("/srv/legacy psa")
    assert folders.inbound == root / "inbound"
    assert folders.outbound == root / "outbound"
    assert folders.processing == root / "processing"
    assert folders.processed == root / "processed"
    assert folders.failed == root / "failed"


def test_named_folders_win_and_the_rest_default_under_inbound() -> None:
    config = CsvDropConfig(inbound_dir=Path("/in"), outbound_dir=Path("/out"))
    assert config.folders.processed == Path("/in/processed")
    assert config.folders.failed == Path("/in/failed")
    config = CsvDropConfig(base_url="file:///srv/x", outbound_dir=Path("/erp/import"))
    assert config.folders.outbound == Path("/erp/import")
    assert config.folders.inbound == Path("/srv/x/inbound")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({}, "give base_url"),
        ({"inbound_dir": "/in"}, "give base_url"),
        ({"base_url": "https://erp.example.com"}, "should match pattern"),
        ({"base_url": "file://fileserver/share"}, "local folder"),
        ({"base_url": "file:///x", "delimiter": ","}, None),
        ({"base_url": "file:///x", "delimiter": ",", "decimal_separator": ","}, "must differ"),
        ({"base_url": "file:///x", "options": 1}, "Extra inputs"),
    ],
)
def test_bad_settings_are_refused_with_the_rule(
    values: dict[str, object], message: str | None
) -> None:
    if message is None:
        CsvDropConfig.model_validate(values)
        return
    with pytest.raises(ValidationError, match=message):
        CsvDropConfig.model_validate(values)
