"""napari-inkloop: human-in-the-loop ink detection for scroll segments."""

__version__ = "0.1.0"
