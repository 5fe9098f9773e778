"""Pictures of attention, from :class:`AttentionMap` objects or plain arrays (never from a model).

* :func:`plot_heatmap`: alignment heatmap with labelled axes and a colour bar (PNG/SVG);
* :func:`highlight_html`: word/sentence highlights for classifiers (HTML);
* :func:`overlay_image`: attention over image regions drawn on the image (PNG/SVG);
* :func:`plot_word_overlays`: one such overlay per word of a caption, in rows (PNG/SVG);
* :func:`plot_frame_strip`: a clip's frames with each word's attention over them (PNG/SVG);
* :func:`plot_glimpse_path`: RAM's glimpses on the image, numbered and joined in order (PNG/SVG);
* :func:`plot_head_grid`: one small heatmap per layer and head (the head view).
"""

from attnkit.viz.heads import plot_head_grid
from attnkit.viz.heatmap import plot_heatmap
from attnkit.viz.highlight import highlight_html
from attnkit.viz.maps import KINDS, AttentionMap
from attnkit.viz.overlay import (
    glimpse_squares,
    overlay_image,
    plot_frame_strip,
    plot_glimpse_path,
    plot_word_overlays,
    upsample,
)

__all__ = ["KINDS", "AttentionMap", "glimpse_squares", "highlight_html", "overlay_image", "plot_frame_strip",
           "plot_glimpse_path", "plot_head_grid", "plot_heatmap", "plot_word_overlays", "upsample"]
