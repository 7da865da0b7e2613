"""What every engine child needs before its set-up, imported once by the forkserver that forks
the children (`_child_start`) and never elsewhere: so a child starts with it loaded."""

import segmentation_models_pytorch  # noqa: F401  (before torch, as `_child._setup` imports them)
import torch  # noqa: F401

import inkloop.engine._engine
import inkloop.io  # noqa: F401
