"""A lineage link that counts several runs on one segment keeps each labels version those
runs trained on, with the step it began at, not only the last one's hash."""

from __future__ import annotations

from types import SimpleNamespace

from inkloop._lineage import init_lineage


def _checkpoint(step: int, segment: str, labels_hash: str, source: str, init=None):
    provenance = {"segment": segment, "labels": {"hash": labels_hash}, "init": init}
    return SimpleNamespace(step=step, provenance=provenance, source=source)


def test_a_collapsed_link_keeps_the_labels_of_each_run_with_its_first_step():
    """The review's repro: m1 trained 20 steps on segA's labels, m2 10 more on new labels of
    segA, m3 continues from m2 on segB."""
    m1 = _checkpoint(20, "segA", "8a1e", "/r/m1.pt")
    m2 = _checkpoint(30, "segA", "279a", "/r/m2.pt", init=init_lineage(m1))

    link = init_lineage(m2)  # what m3 records as its init

    assert link["labels_hashes"] == [[0, "8a1e"], [20, "279a"]]
    assert link["labels_hash"] == "279a"  # readers before the list: the last labels
    assert (link["checkpoint"], link["step"], link["init"]) == ("m2.pt", 30, None)


def test_runs_on_one_segment_add_only_the_labels_that_changed():
    m1 = _checkpoint(20, "segA", "h1", "/r/own.pt")
    m2 = _checkpoint(30, "segA", "h2", "/r/own.pt", init=init_lineage(m1))
    same = _checkpoint(40, "segA", "h2", "/r/own.pt", init=init_lineage(m2))
    m4 = _checkpoint(50, "segA", "h3", "/r/own.pt", init=init_lineage(same))

    assert init_lineage(same)["labels_hashes"] == [[0, "h1"], [20, "h2"]]
    assert init_lineage(m4)["labels_hashes"] == [[0, "h1"], [20, "h2"], [40, "h3"]]


def test_runs_after_a_move_to_another_segment_count_from_the_step_it_moved_at():
    on_a = init_lineage(_checkpoint(20, "segA", "a", "/r/a.pt"))
    b1 = _checkpoint(30, "segB", "b1", "/r/b.pt", init=on_a)
    b2 = _checkpoint(45, "segB", "b2", "/r/b.pt", init=init_lineage(b1))

    link = init_lineage(b2)

    assert link["labels_hashes"] == [[20, "b1"], [30, "b2"]]  # segB's steps 20..45
    assert link["init"] == on_a  # the move to segB stays a link of its own


def test_a_link_recorded_before_the_list_reads_as_one_version():
    """A checkpoint's lineage written before "labels_hashes" existed (a collapsed link
    without one) continues as a single version from its own init's step."""
    older = {"checkpoint": "b.pt", "step": 30, "segment": "segB", "labels_hash": "b1"}
    older["init"] = {"checkpoint": "a.pt", "step": 20, "segment": "segA", "labels_hash": "a"}
    b2 = _checkpoint(45, "segB", "b2", "/r/b.pt", init=older)

    assert init_lineage(b2)["labels_hashes"] == [[20, "b1"], [30, "b2"]]
