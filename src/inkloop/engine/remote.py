"""The engine on an engine server (`inkloop engine serve`): what a dock or script connects with."""

from __future__ import annotations

from dataclasses import dataclass

from inkloop.engine._remote import RemoteEngineProcess, map_path, parse_address
from inkloop.engine._server import EngineServer, read_token

__all__ = ["EngineServer", "RemoteEngineProcess", "RemoteTarget", "map_path", "read_token"]


@dataclass(frozen=True)
class RemoteTarget:
    """An engine server to train on: ``address`` "HOST:PORT", its ``token``, and an optional
    ``path_map`` (this machine's prefix, the server's) for segments mounted elsewhere there."""

    address: str
    token: str
    path_map: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        parse_address(self.address)  # ValueError now for a malformed address
        if not self.token:
            raise ValueError("the engine server's token is empty")

    def engine(
        self, segment_path, ink, supervised, settings=None, on_event=None, **options
    ) -> RemoteEngineProcess:
        """A RemoteEngineProcess on this server, with EngineProcess's arguments and defaults
        (RuntimeError if it cannot be reached or refuses)."""
        return RemoteEngineProcess(
            self.address,
            self.token,
            segment_path,
            ink,
            supervised,
            settings,
            on_event,
            path_map=self.path_map,
            **options,
        )
