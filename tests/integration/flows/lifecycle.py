"""Shared set-up for whole-lifecycle tests: seeded sandboxes on localhost and a topology."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from interlock.demo import sandboxes
from interlock.sandbox.firm import Firm


@contextmanager
def running_sandboxes(firm: Firm, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Sandboxes seeded from ``firm``; adds ``topology_file`` to the demo environment."""
    with sandboxes(firm) as env:
        path = tmp_path / "topology.yaml"
        path.write_text(yaml.safe_dump(env["topology"]))
        env["topology_file"] = path
        yield env


def good_deals(firm: Firm) -> list[str]:
    """Keys of the deals without defects."""
    return [d.key for d in firm.deals if d.defect is None]
