"""An engine server's places for engines: how many torch threads each gets of the server's
cores, and what a dock is told when every place is taken."""

from __future__ import annotations

from inkloop._cpus import usable_cpus


def engine_threads(engines: int, cpus: int | None = None) -> int:
    """Torch threads for a new engine, one of ``engines`` the server then runs: its ``cpus``
    (default: the cores it may use) less one for the relays, shared among them. A lone
    engine gets them all, as one user of a lab's box expects; engines already running keep
    what they got (torch's count is set once in their process), so the first of several
    keeps more until it ends. The client's own count says what its machine has, not this
    one."""
    cpus = usable_cpus() if cpus is None else cpus
    return max(1, (cpus - 1) // max(1, engines))


def all_taken(most: int, sessions, idle_timeout: float, now: float) -> str:
    """Why a new engine is refused with ``most`` running (``sessions``, `ServedSession`s):
    how many have no dock attached, and when the first of those ends (at ``now``,
    `time.monotonic`), as no dock that has gone holds a place past ``idle_timeout``."""
    idle = [s.left_at + idle_timeout for s in sessions if not s.attached]
    said = f"the server runs {most} engine{'s' if most != 1 else ''} already, its most"
    if not idle:
        return (
            f"{said}, each with a dock attached (a dock holds one from its first stroke): "
            "close a dock you do not use, or ask whoever runs the server for more places "
            "(inkloop engine serve --max-sessions)"
        )
    return (
        f"{said} ({len(idle)} with no dock attached; the first of those ends in "
        f"{_duration(min(idle) - now)} unless its dock comes back): close a dock you do not "
        "use (a dock holds one from its first stroke), or try again then"
    )


def _duration(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"
