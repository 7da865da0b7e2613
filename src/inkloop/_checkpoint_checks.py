"""What is wrong with a file given as an inkloop checkpoint, in the user's words: a zip entry
that fails its checksum, another program's model file, weights that are not finite.

`inkloop.checkpoint` raises with these; the zip checks need no torch (napari's process runs
them on its GUI thread)."""

from __future__ import annotations

import zipfile

CUT_SHORT = "not a PyTorch file, or cut short"  # a file torch cannot open, in the user's words
NOT_INKLOOP = "not an inkloop checkpoint"
# torch's magic number 0x1950a86a20f9469cfc6c, pickled: the start of its format before zips
LEGACY_MAGIC = b"\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19"
# a key of every Lightning checkpoint, as plain text in the pickle `torch.save` writes
LIGHTNING = b"pytorch-lightning_version"


def foreign(what: str) -> str:
    """Why a model file of another kind (``what``: "a TorchScript model") cannot be used."""
    return (
        f"{NOT_INKLOOP} but {what}, without inkloop's recipe (the layers a model reads and how "
        "they are normalised), so inkloop cannot use it; to learn from that model, train on "
        "its prediction: `inkloop train --labels-from-prediction`, or the dock's Load "
        "prediction as labels"
    )


def unreadable_checkpoint(path) -> str | None:
    """Why the checkpoint file ``path`` cannot be read, or None. Without torch, for the
    napari process, which never imports it (`load_checkpoint` reads in the engine), and
    cheaply enough for the GUI thread (`zip_problem`); only the engine finds weights that
    are not finite."""
    try:
        with zipfile.ZipFile(path) as archive:
            return zip_problem(archive)
    except OSError as error:  # unreadable: another user's, say
        return str(error)
    except (EOFError, ValueError, zipfile.BadZipFile):  # zipfile's words for what it found
        return None if _legacy_torch(path) else CUT_SHORT


def _legacy_torch(path) -> bool:
    """Whether ``path`` starts as torch's format before zips (torch 1.6) does: a pickled
    magic number, which `load_checkpoint` reads and judges."""
    with open(path, "rb") as file:
        return file.read(len(LEGACY_MAGIC)) == LEGACY_MAGIC


def zip_refusal(path) -> str | None:
    """What `load_checkpoint` says of ``path`` before unpickling it (`zip_problem`), or None;
    None too for a file that is not a zip: torch's older format, or none of torch's, which
    `torch.load` tells."""
    try:
        with zipfile.ZipFile(path) as archive:
            problem = zip_problem(archive)
    except (EOFError, ValueError, zipfile.BadZipFile):
        return None
    if problem is None or problem.startswith(NOT_INKLOOP):  # a sentence of its own
        return problem
    return unreadable(problem)


def unreadable(problem: str) -> str:
    """``problem`` as `load_checkpoint` says it."""
    return f"not a readable inkloop checkpoint ({problem})"


def zip_problem(archive: zipfile.ZipFile) -> str | None:
    """What a zip given as a checkpoint shows wrong without unpickling it, or None: a
    TorchScript or Lightning model, no pickle of torch's, or an entry whose bytes fail their
    CRC-32 (torch reads without checking them, so damaged tensor bytes load as wrong weights).
    Reads the whole file: ~10 ms for 12 MB, ~25 ms for 50 MB."""
    # torch's zips put every entry under one folder, named as the file was at its save
    records = {name.partition("/")[2] for name in archive.namelist()}
    if "constants.pkl" in records or any(name.startswith("code/") for name in records):
        return foreign("a TorchScript model")  # what torch.jit.save writes
    if "data.pkl" not in records:
        return "not a PyTorch file"
    pickle = next(name for name in archive.namelist() if name.endswith("/data.pkl"))
    if LIGHTNING in archive.read(pickle):  # kilobytes: the tensors are entries of their own
        return foreign("a PyTorch Lightning checkpoint")  # before the whole file is read
    damaged = archive.testzip()  # the first entry that fails its checksum
    if damaged is not None:
        return f"damaged: {damaged} in it fails its checksum"
    return None


def payload_problem(payload) -> str:
    """Why what `torch.load` read from a file without an inkloop checkpoint's format is none,
    in a few words: another program's model named (`foreign`), else NOT_INKLOOP."""
    import torch

    if not isinstance(payload, dict) or not payload:
        return NOT_INKLOOP
    if "state_dict" in payload:
        return foreign("a training checkpoint of another program")
    if all(isinstance(value, torch.Tensor) for value in payload.values()):
        return foreign("a bare state_dict (weights only)")
    return NOT_INKLOOP


def newer_format(payload: dict, reads: int) -> str:
    """Why a checkpoint of a format newer than ``reads`` (this inkloop's) is refused: the
    inkloop that wrote it, as its provenance records, and to upgrade to it."""
    from inkloop import __version__

    provenance = payload.get("provenance")
    software = provenance.get("software") if isinstance(provenance, dict) else None
    wrote = software.get("inkloop") if isinstance(software, dict) else None
    writer = f"inkloop {wrote}" if wrote else "a newer inkloop"
    return (
        f"written by {writer} (checkpoint format {payload['version']}); this inkloop, "
        f"{__version__}, reads format {reads} and older: upgrade inkloop"
        f"{f' to {wrote} or later' if wrote and wrote != __version__ else ''} to use it"
    )


def unpickling_problem(error: Exception) -> str:
    """What `torch.load`'s ``error`` means, in the user's words: its own message is a pickle
    opcode or a page of advice. The weights-only unpickler refuses any global, a class or a
    function such as os.system that a crafted file asks it to call ("Unsupported global:
    GLOBAL x" or "unsupported GLOBAL posix.system whose module posix is blocked")."""
    if "unsupported global" in str(error).lower():
        return "it holds code or pickled objects, which inkloop never runs: do not trust this file"
    return CUT_SHORT


def not_finite(weights: dict) -> list[str]:
    """The names of the floating-point tensors in ``weights`` that hold a NaN or an
    infinity (one wait for the device, wherever they are)."""
    import torch

    named = [(name, w) for name, w in weights.items() if torch.is_floating_point(w)]
    if not named:
        return []
    finite = torch.stack([torch.isfinite(w.detach()).all() for _, w in named]).tolist()
    return [name for (name, _), ok in zip(named, finite, strict=True) if not ok]


def counted(names: list[str]) -> str:
    """``names`` of weights, counted and the first named: "3 weights (a.weight, ...) are"."""
    if len(names) == 1:
        return f"1 weight ({names[0]}) is"
    return f"{len(names)} weights ({names[0]}, ...) are"
