"""Object UIDs: random version-4 UUIDs, never repeated, not shared with a forked child."""

from __future__ import annotations

import os
import uuid

from herd.apiserver.objectmeta import new_uid


def test_uids_are_version_4_rfc_4122_uuids_in_their_canonical_text() -> None:
    for _ in range(600):  # across several refills of the random pool
        text = new_uid()
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


def test_uids_do_not_repeat() -> None:
    uids = [new_uid() for _ in range(20_000)]
    assert len(set(uids)) == len(uids)


def test_a_forked_child_does_not_hand_out_its_parents_next_uids() -> None:
    new_uid()  # the pool holds bytes the parent has not used yet
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.write(write, "".join(new_uid() for _ in range(3)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    child_uids = os.read(read, 4096).decode()
    os.close(read)
    parent_uids = "".join(new_uid() for _ in range(3))
    assert child_uids and child_uids != parent_uids
