"""A raster over the ward layer that answers most points without a point-in-polygon test.

Every cell of a square grid is either touched by some ward boundary (``BOUNDARY``: the caller must test
the point exactly) or not. A closed cell that meets no boundary lies wholly inside or wholly outside each
polygon, so one test at one of its points answers for all of it; and a run of such cells along a row is
connected and boundary-free, so one test answers for the whole run. A lookup is then an array index.

Marking is conservative (segments are split to at most half a cell and the cells under each piece's
bounding box, widened by a hair, are marked), so rounding can only send a point to the exact test.
"""

from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

OUTSIDE = -1  # no ward contains any point of the cell
BOUNDARY = -2  # a ward boundary crosses the cell: test the point itself
_NO_HIT = np.iinfo(np.int64).max
_MAX_CELLS = 8_000_000
_CELLS_PER_WARD = 1_000

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def lowest_hits(n: int, pairs: IntArray) -> IntArray:
    """From STRtree ``(input, tree)`` index pairs: the lowest tree index per input, OUTSIDE if none."""
    best = np.full(n, _NO_HIT, dtype=np.int64)
    np.minimum.at(best, pairs[0], pairs[1])
    best[best == _NO_HIT] = OUTSIDE
    return best


class CellGrid:
    """Ward index (or OUTSIDE/BOUNDARY) per grid cell, built from projected ward geometries."""

    def __init__(self, geoms: Any, tree: Any) -> None:
        geoms = np.asarray(geoms, dtype=object)
        x0, y0, x1, y1 = shapely.total_bounds(geoms)
        target = min(_MAX_CELLS, _CELLS_PER_WARD * max(len(geoms), 4))
        self._size = float(np.sqrt(max((x1 - x0) * (y1 - y0), 1e-9) / target)) or 1.0
        self._x0, self._y0 = float(x0), float(y0)
        self._nx = max(1, int(np.ceil((x1 - x0) / self._size)))
        self._ny = max(1, int(np.ceil((y1 - y0) / self._size)))
        # Stored row-major by y so that runs along x are contiguous.
        self._cells = self._classify(self._mark_boundaries(geoms), tree)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows along y, columns along x)."""
        return self._ny, self._nx

    def boundary_share(self) -> float:
        """Share of cells that need an exact test."""
        return float(np.mean(self._cells == BOUNDARY))

    def _mark_boundaries(self, geoms: Any) -> npt.NDArray[np.bool_]:
        lines = shapely.get_parts(shapely.segmentize(shapely.boundary(geoms), self._size / 2.0))
        coords, owner = shapely.get_coordinates(lines, return_index=True)
        same = owner[1:] == owner[:-1]
        a, b = coords[:-1][same], coords[1:][same]
        eps = self._size * 1e-6
        lo, hi = np.minimum(a, b) - eps, np.maximum(a, b) + eps
        i0, i1 = self._col(lo[:, 0]), self._col(hi[:, 0])
        j0, j1 = self._row(lo[:, 1]), self._row(hi[:, 1])
        marked = np.zeros((self._ny, self._nx), dtype=bool)
        # Pieces are at most half a cell long, so each spans at most three cells per axis.
        for dj in range(3):
            for di in range(3):
                ok = (i0 + di <= i1) & (j0 + dj <= j1)
                marked[np.clip(j0[ok] + dj, 0, self._ny - 1), np.clip(i0[ok] + di, 0, self._nx - 1)] = True
        return marked

    def _classify(self, marked: npt.NDArray[np.bool_], tree: Any) -> npt.NDArray[np.int32]:
        free = ~marked.ravel()
        start = free.copy()
        start[1:] &= ~free[:-1]
        start.reshape(self._ny, self._nx)[:, 0] = ~marked[:, 0]  # a run never wraps to the next row
        run = np.cumsum(start) - 1
        firsts = np.flatnonzero(start)
        rows, cols = np.divmod(firsts, self._nx)
        centres = shapely.points(self._x0 + (cols + 0.5) * self._size, self._y0 + (rows + 0.5) * self._size)
        ward = lowest_hits(len(firsts), tree.query(centres, predicate="within"))
        if len(firsts) == 0:
            return np.full((self._ny, self._nx), BOUNDARY, dtype=np.int32)
        cells = np.where(free, ward[np.maximum(run, 0)], BOUNDARY)
        return cells.astype(np.int32).reshape(self._ny, self._nx)

    def _col(self, x: FloatArray) -> IntArray:
        return np.floor((x - self._x0) / self._size).astype(np.int64)

    def _row(self, y: FloatArray) -> IntArray:
        return np.floor((y - self._y0) / self._size).astype(np.int64)

    def lookup(self, xs: FloatArray, ys: FloatArray) -> IntArray:
        """Per point: the ward index, OUTSIDE, or BOUNDARY (test exactly); NaN and off-grid -> OUTSIDE."""
        result = np.full(len(xs), OUTSIDE, dtype=np.int64)
        cols = (xs - self._x0) / self._size
        rows = (ys - self._y0) / self._size
        on = (cols >= 0) & (cols < self._nx) & (rows >= 0) & (rows < self._ny)
        result[on] = self._cells[rows[on].astype(np.int64), cols[on].astype(np.int64)]
        return result
