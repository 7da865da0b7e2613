"""Everything that talks to napari or Qt; the rest of inkloop never imports this."""
