"""The journal of a `herd move`: the plan and each completed step, one JSON object a line, fsync'd, mode 0600.

It names objects by kind, name and UID only, never their data (Secrets move too). After a crash at any point,
replaying it says where the same command resumes. Records, in the order a move writes them:

    {"step": "plan", "namespace", "source", "target", "nodes": [...], "paused_before": [...]}
    {"step": "paused", "nodes": [...]}       every Cluster paused, its objects report it, nothing blocks the
                                             move; the nodes found then replace the plan's
    {"step": "creating"}                     the point of no return: from here the source is never resumed
    {"step": "created", "uid", "new_uid"}    one per object, in the plan's order
    {"step": "created-all"}
    {"step": "deleted", "uid"}               one per object, owned objects first
    {"step": "deleted-all"}
    {"step": "resumed"}                      the target's Clusters are resumed; the journal is then removed
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .objectgraph import MoveNode
from .serve import CLIError

Step = Literal["pause", "create", "delete", "resume", "finish"]
JOURNAL_VERSION = 1


@dataclass
class JournalState:
    """What a journal's records say was done."""

    plan: dict[str, Any] | None = None
    paused: bool = False
    creating: bool = False
    created: dict[str, str] = field(default_factory=dict)  # source UID → target UID
    created_all: bool = False
    deleted: set[str] = field(default_factory=set)
    deleted_all: bool = False
    resumed: bool = False

    @property
    def nodes(self) -> list[MoveNode]:
        return [MoveNode.from_record(r) for r in (self.plan or {}).get("nodes") or []]

    @property
    def next_step(self) -> Step:
        """The step a run resumes from."""
        if self.resumed:
            return "finish"
        if self.deleted_all:
            return "resume"
        if self.created_all:
            return "delete"
        if self.paused:
            return "create"
        return "pause"

    @property
    def may_abandon(self) -> bool:
        """Whether the source may still be resumed: only while nothing can have been created in the target."""
        return not self.creating


def replay(lines: list[str]) -> JournalState:
    """The state the records describe. A last line cut short by a crash is ignored (its step was not done)."""
    state = JournalState()
    for line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        step = record.get("step")
        if step == "plan":
            state.plan = record
        elif step == "paused":
            state.paused = True
            if state.plan is not None and "nodes" in record:  # what moves, as found once everything was paused
                state.plan = {**state.plan, "nodes": record["nodes"]}
        elif step == "creating":
            state.creating = True
        elif step == "created":
            state.created[record["uid"]] = record["new_uid"]
        elif step == "created-all":
            state.created_all = True
        elif step == "deleted":
            state.deleted.add(record["uid"])
        elif step == "deleted-all":
            state.deleted_all = True
        elif step == "resumed":
            state.resumed = True
    if state.plan is None:
        return JournalState()  # nothing was decided before the plan was written
    return state


class Journal:
    """An append-only journal file; each record is on disk before `record` returns."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Held while a move runs, so that two runs of the same move never interleave."""
        lock_path = self.path.with_suffix(".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise CLIError(f"another herd move of this namespace is running (lock {lock_path}): wait for it, "
                               "or run this again once it has stopped") from None
            yield
        finally:
            os.close(fd)

    def exists(self) -> bool:
        return self.path.is_file()

    def read(self) -> JournalState:
        try:
            return replay(self.path.read_text().splitlines())
        except FileNotFoundError:
            return JournalState()

    def record(self, step: str, **fields: Any) -> None:
        line = json.dumps({"step": step, **fields}, separators=(",", ":")) + "\n"
        created = not self.path.exists()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            self._sync_directory()

    def start(self, **plan: Any) -> None:
        """Begin a journal with the plan (a stale or cut-short one is replaced)."""
        self.remove()
        self.record("plan", version=JOURNAL_VERSION, **plan)

    def remove(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
            self._sync_directory()

    def _sync_directory(self) -> None:
        # the file's creation (or removal) itself must survive a crash, not only its contents
        fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
