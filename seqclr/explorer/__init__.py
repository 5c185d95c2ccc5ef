"""The augmentation explorer behind notebooks/augmentation_explorer.ipynb.

Everything a test needs lives here, not in notebook cells: the parameters (:mod:`.params`), the
state and its callbacks (:mod:`.state`), the figures (:mod:`.views`) and the ipywidgets UI
(:mod:`.widgets`, imported lazily so the package works without ipywidgets).
"""

from seqclr.explorer.params import ExplorerParams
from seqclr.explorer.state import ExplorerState

__all__ = ["ExplorerParams", "ExplorerState"]
