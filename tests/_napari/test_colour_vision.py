"""The default colours stay apart for colour-blind users (review R4, finding 3): "ink labels"
against every level of the prediction as drawn over papyrus, and ink against "no ink".

Colour blindness is simulated as R4 measured it: Machado, Oliveira & Fernandes 2009 at full
severity, applied in linear RGB; distances are CIELAB ΔE76 of the colours as napari draws them
(labels alpha-blended at the layer's opacity, the prediction added onto the papyrus).
"""

from __future__ import annotations

import numpy as np
import pytest
from napari.utils.colormaps import ensure_colormap

from inkloop._napari._labels import OPACITY, PREDICTION_COLORMAP, ink_colormap
from inkloop._napari._overlay import SOFT_FROM
from inkloop.brush import NO_INK

MACHADO = {
    "normal": np.eye(3),
    "deutan": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
               [-0.011820, 0.042940, 0.968881]],
    "protan": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
               [-0.003882, -0.048116, 1.051998]],
    "tritan": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
               [0.004733, 0.691367, 0.303900]],
}  # fmt: skip
PAPYRUS_GREYS = (90, 140, 190)  # R4 measured over 140
PREDICTION_OPACITIES = (0.8, 1.0)  # the live overlay's; a whole-segment prediction's (napari's)
PREDICTED = np.linspace(0.5, 1.0, 11)  # the soft view: from p = 0.5 (nothing added) up
# faint ink fades into the papyrus as a faint prediction does; from half strength up it must
# not pass for predicted ink
INK_STRENGTHS = (0.5, 0.75, 1.0)
APART = 20.0  # ΔE76; the old green and light blue came to 3 (protan), R4's pairs to 12-22


def linear(srgb):
    srgb = np.asarray(srgb, float)
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def seen(srgb, vision: str) -> np.ndarray:
    """CIELAB of sRGB colours (0..1, last axis) as seen with ``vision`` (D65 white)."""
    rgb = np.clip(linear(srgb) @ np.asarray(MACHADO[vision]).T, 0, 1)
    xyz = rgb @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                          [0.0193, 0.1192, 0.9505]]).T / [0.95047, 1.0, 1.08883]  # fmt: skip
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]),
                     200 * (f[..., 1] - f[..., 2])], axis=-1)  # fmt: skip


def labels_drawn(codes, grey: int) -> np.ndarray:
    """Label ``codes`` as drawn over papyrus ``grey`` (0..255)."""
    rgba = ink_colormap().map(np.asarray(codes))
    alpha = rgba[:, 3:] * OPACITY
    return (1 - alpha) * grey / 255 + alpha * rgba[:, :3]


def prediction_drawn(grey: int, opacity: float) -> np.ndarray:
    """Each level of PREDICTED as drawn over papyrus ``grey`` in the soft view."""
    level = (np.rint(PREDICTED * 255) / 255 - SOFT_FROM) / (1 - SOFT_FROM)
    rgb = ensure_colormap(PREDICTION_COLORMAP).map(np.clip(level, 0, 1))[:, :3]
    return np.clip(grey / 255 + opacity * rgb, 0, 1)


def ink_codes(strengths) -> list[int]:
    return [NO_INK + round(strength * 255) for strength in strengths]


def closest(a, b, vision: str) -> float:
    """The smallest ΔE76 between any colour of ``a`` and any of ``b``."""
    return float(np.linalg.norm(seen(a, vision)[:, None] - seen(b, vision)[None], axis=-1).min())


@pytest.mark.parametrize("vision", MACHADO)
def test_labels_stay_apart_from_every_predicted_level(vision):
    codes = [NO_INK, *ink_codes(INK_STRENGTHS)]
    for grey in PAPYRUS_GREYS:
        for opacity in PREDICTION_OPACITIES:
            prediction = prediction_drawn(grey, opacity)
            distance = closest(labels_drawn(codes, grey), prediction, vision)
            assert distance > APART, (grey, opacity, distance)


@pytest.mark.parametrize("vision", MACHADO)
def test_ink_stays_apart_from_no_ink(vision):
    for grey in PAPYRUS_GREYS:
        ink = labels_drawn(ink_codes(INK_STRENGTHS), grey)
        distance = closest(ink, labels_drawn([NO_INK], grey), vision)
        assert distance > APART, (grey, distance)


@pytest.mark.parametrize("vision", MACHADO)
def test_ink_strength_reads_as_a_ramp(vision):
    """Soft labels stay visibly soft: each quarter step up in strength shows (ΔE 2.3 is
    about the least one sees), and a quarter stands apart from full strength."""
    drawn = seen(labels_drawn(ink_codes((0.25, 0.5, 0.75, 1.0)), 140), vision)
    assert np.linalg.norm(np.diff(drawn, axis=0), axis=-1).min() > 5
    assert np.linalg.norm(drawn[-1] - drawn[0]) > APART
