"""What every figure of the package ends as: PNG bytes (notebooks and widgets display the bytes,
so the output does not depend on the kernel's matplotlib backend)."""

from __future__ import annotations

import io
import sys


def figure_png(fig, dpi: float | None = 110, tight: bool = True) -> bytes:
    """PNG bytes of a matplotlib figure at ``dpi`` (None: matplotlib's savefig default), cropped
    to its content with ``tight``; a figure pyplot manages is closed afterwards."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight" if tight else None)
    pyplot = sys.modules.get("matplotlib.pyplot")  # no pyplot imported: no figure of its to close
    if pyplot is not None:
        pyplot.close(fig)
    return buf.getvalue()
