"""The geolocate benchmark machinery on a tiny layer: valid synthetic wards, and every answer agrees."""

import os

import numpy as np
import pytest
import shapely

from benchmarks import geolocate


@pytest.mark.unit
def test_synthetic_layer_is_valid_and_tiles_without_overlap() -> None:
    geoms = geolocate.synthetic_layer(nx=8, ny=6, k=6)
    assert len(geoms) == 48
    assert shapely.is_valid(geoms).all()
    kinds = {g.geom_type for g in geoms}
    assert kinds == {"Polygon", "MultiPolygon"}
    assert any(g.geom_type == "Polygon" and g.interiors for g in geoms)
    union = shapely.union_all(geoms)
    assert union.area == pytest.approx(float(shapely.area(geoms).sum()))


@pytest.mark.integration
def test_benchmark_reports_agreeing_figures() -> None:
    if not os.path.exists(f"{geolocate.PG_BIN}/initdb"):
        pytest.fail("PostgreSQL 15 + PostGIS are not installed: the setup installs them")
    result = geolocate.run(points=3000, nx=6, ny=6, naive_sample=20)
    assert result["agree"] is True
    assert result["mismatches"] == 0
    assert result["points"] == 3000
    assert result["inside"] + result["nearest"] + result["ioc"] == 3000  # type: ignore[operator]
    for key in ("points_per_s", "ratio_naive", "ratio_postgis", "ratio_per_point"):
        value = result[key]
        assert isinstance(value, float)
        assert value > 0, key
    assert np.isfinite(result["build_s"])  # type: ignore[arg-type]
