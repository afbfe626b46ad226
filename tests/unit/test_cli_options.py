from __future__ import annotations

from typing import Any

import typer

from interlock.cli.main import app


def _commands(group: Any, prefix: str = "") -> list[tuple[str, Any]]:
    found = []
    for name, command in getattr(group, "commands", {}).items():
        if getattr(command, "commands", None):
            found.extend(_commands(command, f"{prefix}{name} "))
        else:
            found.append((f"{prefix}{name}", command))
    return found


def test_every_option_reads_an_interlock_variable() -> None:
    commands = _commands(typer.main.get_command(app))
    assert len(commands) >= 8
    missing = []
    for name, command in commands:
        for param in command.params:
            if param.param_type_name == "option" and param.name != "help":
                envvar = param.envvar
                if not (isinstance(envvar, str) and envvar.startswith("INTERLOCK_")):
                    missing.append(f"{name} --{param.name}")
    assert missing == []
