"""Draw docs/vision_data.png: sample fashion scenes with their captions and boxes, two clips as frame
strips with their event frames, and cluttered Fashion-MNIST images (needs dataset-fashion-mnist).

    .venv/bin/python scripts/draw_vision_data.py
"""

import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle

from attnkit.data.cluttered import make_cluttered
from attnkit.data.fashion import WORDS
from attnkit.data.scenes import make_scenes
from attnkit.data.video import make_clips

scenes = make_scenes("train", 8, objects=(1, 4), seed=0)
pool = make_clips("train", 20, seed=0)
moving = next(c for c in pool if any(e.kind == "moves" for e in c.events))  # show every kind of event
clips = [pool[0], moving]
images, labels, boxes = make_cluttered("train", 8, seed=0)

fig = plt.figure(figsize=(16, 14))
top, clip_a, clip_b, bottom = fig.subfigures(4, 1, height_ratios=[2.3, 0.8, 0.7, 1.0])
top.suptitle("Fashion scenes (make_scenes, 64x64): caption = deterministic function of the layout", fontsize=12)
top.subplots_adjust(hspace=0.4)
for ax, s in zip(top.subplots(2, 4).ravel(), scenes, strict=False):
    ax.imshow(s.image, cmap="gray", vmin=0, vmax=255)
    for k, (x0, y0, x1, y1) in enumerate(s.boxes):
        ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, ec="tab:orange", lw=0.8))
        ax.text(x0, y0 + 4, str(k + 1), color="tab:orange", fontsize=8)
    ax.set_title("\n".join(textwrap.wrap(s.caption, 34)), fontsize=8.5)
    ax.axis("off")
heading = ("Fashion clips (make_clips, 12 frames of 48x48); border colour = the frames of the 1st (orange), "
           "2nd (cyan), 3rd (pink) event\n\n")
for sub, clip, head in zip((clip_a, clip_b), clips, (heading, ""), strict=False):
    tokens = clip.caption.split()
    spans = "   ".join(f"[{' '.join(tokens[slice(*e.words)])}: frames {e.frames[0]}-{e.frames[1] - 1}]"
                       for e in clip.events)
    sub.suptitle(f"{head}{clip.caption}\n{spans}", fontsize=9.5)
    colours = ["tab:orange", "tab:cyan", "tab:pink", "tab:green"]
    for t, ax in enumerate(sub.subplots(1, len(clip.frames))):
        ax.imshow(clip.frames[t], cmap="gray", vmin=0, vmax=255)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel(str(t), fontsize=8)
        for e, c in zip(clip.events, colours, strict=False):
            if e.frames[0] <= t < e.frames[1]:
                for side in ax.spines.values():
                    side.set_edgecolor(c)
                    side.set_linewidth(2.5)
bottom.suptitle("Cluttered Fashion-MNIST (make_cluttered, 60x60, 4 patches of 8x8): label and item box", fontsize=12)
for ax, img, lab, (x0, y0, x1, y1) in zip(bottom.subplots(1, 8), images, labels, boxes, strict=False):
    ax.imshow(img, cmap="gray", vmin=0, vmax=1)
    ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, ec="tab:orange", lw=0.8))
    ax.set_title(WORDS[lab], fontsize=9)
    ax.axis("off")
fig.savefig("docs/vision_data.png", dpi=80)
