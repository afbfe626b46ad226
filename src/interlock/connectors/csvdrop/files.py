"""Folder operations that never lose a file: atomic writes, exclusive moves, append-only logs."""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from interlock.exceptions import ConnectorUnavailable


@contextlib.contextmanager
def folder_errors(system: str, what: str) -> Iterator[None]:
    """Turn an OSError (missing mount, permissions, full disk) into ConnectorUnavailable."""
    try:
        yield
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        raise ConnectorUnavailable(system, f"{what}: {exc.strerror or exc}{where}") from exc


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new file in ``folder`` durable (a no-op where unsupported)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_durably(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (created or truncated) and fsync it."""
    with open(path, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so readers see the old file or the whole new one."""
    tmp = path.with_name(f".tmp-{path.name}-{uuid.uuid4().hex[:8]}")
    try:
        write_durably(tmp, data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)


def move_exclusive(src: Path, folder: Path, name: str, fallback: str) -> Path:
    """Move ``src`` into ``folder`` as ``name``, or as ``fallback`` if ``name`` is taken.

    A hard link fails instead of overwriting, so two workers finishing files of the same name
    cannot clobber each other. ``fallback`` must be unique (it carries the claim token).
    """
    target = folder / name
    try:
        os.link(src, target)
    except FileExistsError:
        target = folder / fallback
        os.replace(src, target)
    except OSError:  # no hard links on this file system
        target = folder / fallback
        os.replace(src, target)
    else:
        src.unlink()
    fsync_dir(folder)
    return target


class LineLog:
    """An append-only JSON-lines file, read incrementally.

    Each record is written as one ``write`` with a leading newline, so a line torn by a crash
    is ended by the next record and skipped when read.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0

    def append(self, record: dict[str, Any]) -> None:
        """Append one record and fsync it."""
        data = ("\n" + json.dumps(record, sort_keys=True) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)

    def read_new(self) -> list[dict[str, Any]]:
        """Records appended since the last call (by anyone), oldest first."""
        try:
            with open(self.path, "rb") as log:
                log.seek(self._offset)
                chunk = log.read()
        except FileNotFoundError:
            return []
        end = chunk.rfind(b"\n") + 1  # an unfinished last line is read next time
        self._offset += end
        records = []
        for line in chunk[:end].splitlines():
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue  # torn by a crash: the write that made it never returned
            if isinstance(record, dict):
                records.append(record)
        return records
