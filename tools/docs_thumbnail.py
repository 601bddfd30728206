"""Draw docs/_static/relukit_thumb.png, the gallery's fallback thumbnail.

sphinx-gallery shows it for an example that draws no figure (every
example draws one today). It is a plain ReLU glyph, not data, so it
cannot be mistaken for a result.

Usage: python tools/docs_thumbnail.py
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "docs" / "_static" / "relukit_thumb.png"


def main():
    # 800 x 560 pixels: the gallery's thumbnail_size in docs/conf.py.
    fig, ax = plt.subplots(figsize=(4.0, 2.8), dpi=200)
    ax.plot([-1, 0, 1], [0, 0, 1], color="#1f77b4", lw=6, solid_capstyle="round")
    ax.text(
        0.5,
        0.06,
        "text only",
        ha="center",
        va="center",
        fontsize=14,
        color="0.45",
        transform=ax.transAxes,
    )
    ax.set_xlim(-1.2, 1.2)
    ax.set_ylim(-0.55, 1.1)
    ax.axis("off")
    fig.savefig(OUT, dpi=200, metadata={"Software": None})
    plt.close(fig)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
