"""Pictures of attention, from :class:`AttentionMap` objects (never from a model).

* :func:`plot_heatmap`: alignment heatmap with labelled axes and a colour bar (PNG/SVG);
* :func:`highlight_html`: word/sentence highlights for classifiers (HTML);
* :func:`overlay_image`: attention over image regions drawn on the image (PNG/SVG);
* :func:`plot_head_grid`: one small heatmap per layer and head (the head view).
"""

from attnkit.viz.heads import plot_head_grid
from attnkit.viz.heatmap import plot_heatmap
from attnkit.viz.highlight import highlight_html
from attnkit.viz.maps import KINDS, AttentionMap
from attnkit.viz.overlay import overlay_image, upsample

__all__ = ["KINDS", "AttentionMap", "highlight_html", "overlay_image", "plot_head_grid", "plot_heatmap", "upsample"]
