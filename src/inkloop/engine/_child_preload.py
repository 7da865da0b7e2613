"""What every engine child needs before its set-up, imported once by inkloop's fork server
(`_child_start`) and never elsewhere: so a child starts with it loaded, and ignoring Ctrl+C."""

import signal

signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server's children are born with it
try:
    import segmentation_models_pytorch  # noqa: F401  (before torch, as `_child._setup` does)
    import torch  # noqa: F401

    import inkloop.engine._engine
    import inkloop.engine._fork_server
    import inkloop.io  # noqa: F401
except Exception:  # a torch that cannot load: each child's set-up imports it again, says why
    pass
