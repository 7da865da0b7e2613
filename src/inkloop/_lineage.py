"""What a model continued from: the checkpoint a run started from, and the one that started
from, and so on back (`init_lineage`). A checkpoint records it in its provenance and a round
in the rounds file: the steps before a continued model's first run were trained elsewhere,
maybe on another segment's labels. Without torch: plain facts of a checkpoint read already."""

from __future__ import annotations

from pathlib import Path

# the lineage of each checkpoint file a run in this process continues from, as it was read
# then (`read_to_continue`): a run continuing in place replaces the file at its first save,
# and its later saves and its round must still name what it started from. One run at a time
# continues from a file in a process (an engine process runs one session, `inkloop train`
# one run)
_CONTINUED_FROM: dict[Path, dict] = {}


def init_lineage(init) -> dict:
    """What a run continuing from ``init`` (a `Checkpoint` read from a file) goes on from: the
    file's name, its step, the segment and labels (hash) it was trained on, and under "init"
    the same of the model that one continued from, and so on back (None: a fresh model or
    not recorded). A link that continued on the segment of the link before it is left out,
    its steps counted in that one's: the chain grows where training moved to another
    segment's labels, not with every run the dock continues a segment's own model in.
    Where the labels changed between the runs counted in a link, "labels_hashes" lists
    [first step, hash] of each version; "labels_hash" stays that of its last steps."""
    provenance = init.provenance
    segment = provenance.get("segment")
    labels_hash = (provenance.get("labels") or {}).get("hash")
    earlier = provenance.get("init")
    versions = []
    if isinstance(earlier, dict) and segment is not None and earlier.get("segment") == segment:
        versions = _merged([*_labels_versions(earlier), [earlier.get("step"), labels_hash]])
        earlier = earlier.get("init")
    link = {
        "checkpoint": Path(init.source).name if init.source else None,
        "step": init.step,
        "segment": segment,
        "labels_hash": labels_hash,
        "init": earlier,
    }
    if len(versions) > 1:
        link["labels_hashes"] = versions
    return link


def _labels_versions(link: dict) -> list:
    """[first step, labels hash] of each labels version a lineage ``link``'s steps trained
    on, from the step its own init ended (0: a fresh model or not recorded)."""
    versions = link.get("labels_hashes")
    if isinstance(versions, list) and versions:
        return [list(version) for version in versions]
    before = link.get("init")
    start = before.get("step") if isinstance(before, dict) else None
    return [[start or 0, link.get("labels_hash")]]


def _merged(versions: list) -> list:
    """``versions`` without an entry whose labels are those of the entry before it."""
    merged = []
    for version in versions:
        if not merged or merged[-1][1] != version[1]:
            merged.append(version)
    return merged


def read_to_continue(path, init) -> None:
    """Note that a run in this process continues from ``init``, read from the file ``path``."""
    _CONTINUED_FROM[_key(path)] = init_lineage(init)


def continued_from(path) -> dict | None:
    """The `init_lineage` of the checkpoint file ``path`` as a run in this process read it to
    continue from (`read_to_continue`); None if none did, or ``path`` is None."""
    return None if path is None else _CONTINUED_FROM.get(_key(path))


def _key(path) -> Path:
    return Path(path).expanduser().absolute()
