"""`herd move`'s journal: which step a run resumes from after a crash at any point, by table, and the file
itself (0600, one fsync'd record a line, no secret data)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from herd.cli.journal import Journal, replay
from herd.cli.serve import CLIError

PLAN = json.dumps({"step": "plan", "nodes": [], "paused_before": []})
PAUSED, CREATING, CREATED_ALL = '{"step":"paused"}', '{"step":"creating"}', '{"step":"created-all"}'
DELETED_ALL, RESUMED = '{"step":"deleted-all"}', '{"step":"resumed"}'
CREATED_A = '{"step":"created","uid":"a","new_uid":"A"}'
DELETED_A = '{"step":"deleted","uid":"a"}'


@pytest.mark.parametrize(("lines", "step", "may_abandon"), [
    pytest.param([], "pause", True, id="no-journal"),
    pytest.param(['{"step":"pla'], "pause", True, id="plan-cut-short"),
    pytest.param([PLAN], "pause", True, id="crash-after-plan"),
    pytest.param([PLAN, PAUSED], "create", True, id="crash-after-pause"),
    pytest.param([PLAN, PAUSED, CREATING], "create", False, id="crash-before-the-first-create"),
    pytest.param([PLAN, PAUSED, CREATING, CREATED_A, '{"step":"crea'], "create", False, id="crash-mid-create"),
    pytest.param([PLAN, PAUSED, CREATING, CREATED_A, CREATED_ALL], "delete", False, id="crash-after-creates"),
    pytest.param([PLAN, PAUSED, CREATING, CREATED_A, CREATED_ALL, DELETED_A], "delete", False,
                 id="crash-mid-delete"),
    pytest.param([PLAN, PAUSED, CREATING, CREATED_ALL, DELETED_ALL], "resume", False, id="crash-after-deletes"),
    pytest.param([PLAN, PAUSED, CREATING, CREATED_ALL, DELETED_ALL, RESUMED], "finish", False,
                 id="crash-after-resume"),
])
def test_where_a_run_resumes(lines: list[str], step: str, may_abandon: bool) -> None:
    state = replay(lines)
    assert (state.next_step, state.may_abandon) == (step, may_abandon)


def test_progress_is_kept_per_object() -> None:
    state = replay([PLAN, PAUSED, CREATING, CREATED_A, '{"step":"created","uid":"b","new_uid":"B"}', CREATED_ALL,
                    DELETED_A])
    assert state.created == {"a": "A", "b": "B"} and state.deleted == {"a"}


def test_the_nodes_found_once_paused_replace_the_plans() -> None:
    paused = json.dumps({"step": "paused", "nodes": [{"apiVersion": "v1", "kind": "Secret", "plural": "secrets",
                                                      "namespaced": True, "status": False, "namespace": "ns",
                                                      "name": "late", "uid": "u9", "owners": []}]})
    assert [node.name for node in replay([PLAN, paused]).nodes] == ["late"]


def test_records_without_a_plan_decide_nothing() -> None:
    assert replay([PAUSED, CREATED_A]).next_step == "pause"


def test_the_file_is_private_and_replaced_by_a_new_plan(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "move-default.journal")
    journal.start(namespace="default", nodes=[])
    journal.record("paused")
    assert stat.S_IMODE(journal.path.stat().st_mode) == 0o600
    assert journal.read().next_step == "create"
    journal.start(namespace="default", nodes=[])
    assert journal.read().next_step == "pause"
    assert [json.loads(line)["step"] for line in journal.path.read_text().splitlines()] == ["plan"]
    journal.remove()
    assert not journal.exists() and journal.read().plan is None


def test_two_runs_of_one_move_never_interleave(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "move-default.journal")
    with journal.lock(), pytest.raises(CLIError, match="another herd move of this namespace is running"), \
            Journal(journal.path).lock():
        pass
    with journal.lock():  # released when the first run ends
        pass
