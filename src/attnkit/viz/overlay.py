"""Attention over image regions drawn on the image (Xu et al. 2015, "Show, Attend and Tell", figure 2).

The ``[h, w]`` grid of region weights is upsampled bilinearly to the image size and laid over it
(the paper upsamples by 2^4 with a Gaussian pyramid; bilinear keeps this free of extra dependencies).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["overlay_image", "upsample"]


def upsample(grid, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a 2-D ``grid`` ``[h, w]`` to ``size = (H, W)``, cell centres aligned."""
    grid = np.asarray(grid, dtype=np.float64)
    if grid.ndim != 2 or 0 in grid.shape:
        raise ValueError(f"attention grid must be a non-empty 2-D [h, w] array, got shape {list(grid.shape)}")
    H, W = size
    h, w = grid.shape
    ys = np.clip((np.arange(H) + 0.5) * h / H - 0.5, 0, h - 1)  # source coordinates of output pixel centres
    xs = np.clip((np.arange(W) + 0.5) * w / W - 0.5, 0, w - 1)
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    top = grid[y0][:, x0] * (1 - fx) + grid[y0][:, x1] * fx  # [H, W]
    bottom = grid[y1][:, x0] * (1 - fx) + grid[y1][:, x1] * fx  # [H, W]
    return top * (1 - fy) + bottom * fy


def overlay_image(image, weights_grid, path: str | Path, *, title: str = "", alpha: float = 0.6,
                  cmap: str = "jet") -> Path:
    """Write ``image`` (``[H, W]`` grey or ``[H, W, 3|4]``, floats in [0, 1] or uint8) with the attention
    ``weights_grid`` (``[h, w]``, e.g. 14 x 14 conv regions) upsampled over it; PNG or SVG by suffix."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    image = np.asarray(image)
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
        raise ValueError(f"image must be [H, W] or [H, W, 3|4], got shape {list(image.shape)}")
    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg"):
        raise ValueError(f"{path}: unsupported image format {path.suffix!r}; use .png or .svg")
    H, W = image.shape[:2]
    heat = upsample(weights_grid, (H, W))
    if heat.max() > 0:
        heat = heat / heat.max()
    scale = 6.0 / max(H, W)
    fig, ax = plt.subplots(figsize=(max(W * scale, 1.0), max(H * scale, 1.0) + (0.4 if title else 0)), dpi=100)
    ax.imshow(image[..., 0] if image.ndim == 3 and image.shape[2] == 1 else image,
              cmap="gray" if image.ndim == 2 or image.shape[2] == 1 else None)
    ax.imshow(heat, cmap=cmap, alpha=alpha, vmin=0.0, vmax=1.0)
    ax.set_axis_off()
    if title:
        ax.set_title(title.replace("$", r"\$"))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format=path.suffix.lower().lstrip("."))
    plt.close(fig)
    return path
