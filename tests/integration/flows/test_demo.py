from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from interlock.cli.main import app
from interlock.demo import run_demo
from interlock.sandbox.firm import generate_firm


def test_the_demo_mobilises_good_deals_and_explains_rejections(tmp_path: Path) -> None:
    result = run_demo(tmp_path / "demo.sqlite", deals=12, seed=7, bad_share=0.25)
    firm = generate_firm(7, deals=12, bad_share=0.25)
    good = [d for d in firm.deals if d.defect is None]
    assert result.won == 12
    assert result.mobilized == result.psa_projects == result.erp_projects == len(good)
    assert result.psa_tasks == sum(len(d.lines) for d in good)
    assert len(result.rejections) == 12 - len(good)
    assert all(r.reasons and r.team == "sales_ops" for r in result.rejections)
    assert result.duplicates_refused == 1
    assert result.failed == 0
    assert result.cycle_p50 is not None
    assert result.cycle_p95 is not None


def test_the_chaos_demo_still_sets_every_deal_up_exactly_once(tmp_path: Path) -> None:
    result = run_demo(tmp_path / "chaos.sqlite", deals=10, seed=3, bad_share=0.2, chaos=True)
    assert result.faults_injected > 0
    assert result.failed == 0
    assert result.mobilized == result.psa_projects == result.erp_projects == 8


def test_the_demo_command_prints_a_summary(tmp_path: Path) -> None:
    outcome = CliRunner().invoke(
        app,
        ["demo", "--deals", "6", "--database", str(tmp_path / "cli.sqlite")],
        env={"COLUMNS": "120"},
    )
    assert outcome.exit_code == 0, outcome.output
    assert "Summary" in outcome.output
    assert "Projects created in Kantata (PSA)" in outcome.output
