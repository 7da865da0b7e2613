"""The Engine panel: train on this machine, or on an engine server (`inkloop engine serve`)."""

from __future__ import annotations

from qtpy.QtWidgets import QComboBox, QFormLayout, QGroupBox, QLineEdit, QVBoxLayout

from inkloop._napari._controls import StatusLabel, button
from inkloop._napari._engine_start import EngineConnecting, connecting
from inkloop._napari._say import say_error
from inkloop.engine.remote import RemoteTarget

HERE, REMOTE = "This machine", "Engine server"
WHERE_TIP = (
    "Where training and predictions run: this machine, or an engine server (`inkloop engine "
    "serve` on a GPU host). Connect applies the choice"
)
CONNECT_TIP = (
    "Run the engine where Runs on says from now on: the current engine ends (its weights "
    "saved), and the next command starts one there"
)


class EnginePanel(QGroupBox):
    """Where the loop's engine runs. An engine server opens the segment from its own disks
    (the path mapping turns this machine's path into the server's), trains there and writes
    checkpoints and predictions in its session folder; labels stay saved here."""

    def __init__(self, parent=None) -> None:
        super().__init__("Engine", parent)
        self.loop = None
        self.target: RemoteTarget | None = None
        self._connecting: str | None = None  # the server the loop connects to now
        self.where = QComboBox()
        self.where.setObjectName("engine_where")
        self.where.addItems([HERE, REMOTE])
        self.where.setToolTip(WHERE_TIP)
        self.address = _field(
            "engine_address",
            "127.0.0.1:8790",
            "HOST:PORT of `inkloop engine serve`; through an SSH tunnel "
            "(ssh -N -L 8790:127.0.0.1:8790 gpu-box) it is 127.0.0.1:8790",
        )
        self.token = _field("engine_token", "token", "The contents of the server's token file")
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.paths = _field(
            "engine_paths",
            "/here=/on/server",
            "Optional: where this machine's segment folder is on the server, as "
            "/path/here=/path/on/server",
        )
        self.connect_button = button("Connect", "engine_use_button", CONNECT_TIP)
        self.status = StatusLabel("engine_status")
        self.status.setToolTip("Where the engine runs now, and a choice not applied yet")
        self._lay_out()
        self.where.currentTextChanged.connect(self._show_fields)
        for field in (self.address, self.token, self.paths):
            field.textChanged.connect(self._show_status)
        self.connect_button.clicked.connect(self.use)
        self._show_fields()

    def set_loop(self, loop) -> None:
        """Follow ``loop``: it runs its engine where this panel says."""
        if self.loop is not None:
            self.loop.changed.disconnect(self._show_event)
        self.loop, self._connecting = loop, None
        if loop is not None:
            loop.changed.connect(self._show_event)
            loop.use_engine(self.target)
        self._show_status()

    def _show_event(self, event) -> None:
        if isinstance(event, EngineConnecting):
            self._connecting = event.address
            self._show_status()

    def use(self) -> None:
        """Take the fields: the loop's next command starts its engine there."""
        try:
            target = self._target()
        except ValueError as error:
            say_error(str(error))
            return
        if self.loop is not None and not self.loop.use_engine(target):
            return  # the loop said why (a whole-segment prediction runs)
        self.target = target
        self._show_status()

    def _target(self) -> RemoteTarget | None:
        if self.where.currentText() == HERE:
            return None
        mapping = self.paths.text().strip()
        path_map = None
        if mapping:
            here, sep, there = mapping.partition("=")
            if not sep or not here or not there:
                raise ValueError(f"path mapping {mapping!r} is not /here=/there")
            path_map = (here, there)
        return RemoteTarget(self.address.text().strip(), self.token.text().strip(), path_map)

    def _lay_out(self) -> None:
        form = QFormLayout()
        form.addRow("Runs on", self.where)
        form.addRow("Address", self.address)
        form.addRow("Token", self.token)
        form.addRow("Paths", self.paths)
        column = QVBoxLayout(self)  # a QFormLayout row would not grow with the status' lines
        column.addLayout(form)
        column.addWidget(self.connect_button)
        column.addWidget(self.status)

    def _show_fields(self) -> None:
        remote = self.where.currentText() == REMOTE
        for field in (self.address, self.token, self.paths):
            field.setEnabled(remote)
        self._show_status()

    def _show_status(self) -> None:
        """Where the engine runs now, and whether the fields ask for somewhere else."""
        now = "this machine" if self.target is None else f"server {self.target.address}"
        remote = self.where.currentText() == REMOTE
        text = f"Now: {now}"
        if self._connecting is not None:
            text += f"\n{connecting(self._connecting)}"
        if self._pending():
            text += f"\nConnect to use {'the engine server' if remote else 'this machine'}"
        self.status.setText(text)

    def _pending(self) -> bool:
        """Whether the fields say other than the engine in use (Connect not clicked yet)."""
        try:
            return self._target() != self.target
        except ValueError:  # not a server yet: Connect says why
            return True


def _field(name: str, placeholder: str, tip: str) -> QLineEdit:
    field = QLineEdit()
    field.setObjectName(name)
    field.setPlaceholderText(placeholder)
    field.setToolTip(tip)
    return field
