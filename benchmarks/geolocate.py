"""Points located per second by WardLocator over a synthetic national-scale ward layer.

The layer is a jittered 100 x 100 grid of wards with wiggly shared borders (~100 vertices each) over
Vietnam's extent; one ward in ten has a hole, half of those holes are another ward's exclave (a
MultiPolygon), the rest are lakes. Points are uniform over the extent plus a margin (the sea).

Baselines, measured in the same run on the same data:
- ``ratio_naive``: a per-point loop testing every polygon in turn (no index), on a sample;
- ``ratio_per_point``: ``WardLocator.locate`` called once per point, on a sample;
- ``ratio_postgis``: ``ST_Contains`` joined through a GiST index in a PostgreSQL 15 + PostGIS cluster
  started for the run. Generous to PostGIS: its points are already in a table and the answer stays in
  the server, while ours start from lon/lat arrays and include the nearest-ward fallback.
``agree`` is true when every point's containing ward matches PostGIS and the naive sample.
"""

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
import shapely

from central.geo.ward_locator import Ward, WardLocator
from floodmesh.broker import free_port

PG_BIN = "/usr/lib/postgresql/15/bin"
WEST, SOUTH, EAST, NORTH = 102.14, 8.56, 109.47, 23.39
MARGIN = 0.15  # degrees of "sea" around the layer


def _edge(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64], k: int,
          rng: np.random.Generator) -> npt.NDArray[np.float64]:
    """Node a and the k-1 points strictly between a and b, wiggled across the edge (tapering to the ends)."""
    t = np.arange(1, k) / k
    d = b - a
    normal = np.array([-d[1], d[0]]) / np.hypot(d[0], d[1])
    wiggle = rng.uniform(-0.04, 0.04, k - 1) * np.sin(np.pi * t)
    return np.vstack([a, a + np.outer(t, d) + np.outer(wiggle, normal)])


def synthetic_layer(nx: int = 100, ny: int = 100, k: int = 25, seed: int = 7) -> list[Any]:
    """nx*ny valid, non-overlapping wards (lon/lat) with holes, lakes and exclaves; deterministic."""
    rng = np.random.default_rng(seed)
    nodes = np.stack(np.meshgrid(np.arange(nx + 1.0), np.arange(ny + 1.0), indexing="ij"), axis=-1)
    jitter = rng.uniform(-0.15, 0.15, nodes.shape)
    jitter[[0, -1], :, 0] = 0.0  # the outer frame stays straight
    jitter[:, [0, -1], 1] = 0.0
    nodes += jitter
    across = {(i, j): _edge(nodes[i, j], nodes[i + 1, j], k, rng) for i in range(nx) for j in range(ny + 1)}
    up = {(i, j): _edge(nodes[i, j], nodes[i, j + 1], k, rng) for i in range(nx + 1) for j in range(ny)}
    scale, origin = np.array([(EAST - WEST) / nx, (NORTH - SOUTH) / ny]), np.array([WEST, SOUTH])
    holes: dict[tuple[int, int], Any] = {}
    exclaves: dict[tuple[int, int], Any] = {}
    for n, (i, j) in enumerate((i, j) for i in range(nx - 1) for j in range(ny) if (i * ny + j) % 10 == 3):
        c, h = np.array([i + 0.5, j + 0.5]), 0.12
        square = (c + np.array([[-h, -h], [h, -h], [h, h], [-h, h], [-h, -h]])) * scale + origin
        holes[i, j] = square
        if n % 2 == 0:
            exclaves[i + 1, j] = shapely.Polygon(square)  # the neighbour owns the island in the hole
    geoms = []
    for i in range(nx):
        for j in range(ny):
            ring = np.vstack([across[i, j], up[i + 1, j], nodes[i + 1, j + 1], across[i, j + 1][:0:-1],
                              nodes[i, j + 1], up[i, j][:0:-1], nodes[i, j]])
            shell = shapely.Polygon(ring * scale + origin, [holes[i, j]] if (i, j) in holes else None)
            geoms.append(shapely.MultiPolygon([shell, exclaves[i, j]]) if (i, j) in exclaves else shell)
    return geoms


def random_points(n: int, seed: int = 1) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """n points uniform over the layer's extent plus the margin."""
    rng = np.random.default_rng(seed)
    return rng.uniform(WEST - MARGIN, EAST + MARGIN, n), rng.uniform(SOUTH - MARGIN, NORTH + MARGIN, n)


def naive_inside(geoms: list[Any], lons: npt.NDArray[np.float64], lats: npt.NDArray[np.float64]) -> list[int]:
    """The obvious loop: for each point, the first polygon that contains it (-1 for none)."""
    found = []
    for lon, lat in zip(lons.tolist(), lats.tolist(), strict=True):
        point = shapely.Point(lon, lat)
        found.append(next((w for w, g in enumerate(geoms) if g.contains(point)), -1))
    return found


def _as_postgres(*cmd: str) -> None:
    # PostgreSQL refuses to run as root; CI runs as an ordinary user, this machine may be root.
    argv = ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else list(cmd)
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@contextmanager
def postgis_cluster() -> Iterator[psycopg.Connection[Any]]:
    """A throwaway PostgreSQL 15 cluster with PostGIS on a free loopback port; removed afterwards."""
    for exe in ("initdb", "pg_ctl"):
        if not os.path.exists(f"{PG_BIN}/{exe}"):
            raise RuntimeError(f"{PG_BIN}/{exe} missing (apt-get install postgresql-15 postgresql-15-postgis-3)")
    workdir = tempfile.mkdtemp(prefix="floodmesh-pg-")
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(workdir, user.pw_uid, user.pw_gid)
    data, port = f"{workdir}/data", free_port()
    _as_postgres(f"{PG_BIN}/initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync")
    opts = f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off -c shared_buffers=256MB"
    _as_postgres(f"{PG_BIN}/pg_ctl", "-D", data, "-l", f"{workdir}/log", "-w", "-o", opts, "start")
    try:
        with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres",
                             autocommit=True) as conn:
            conn.execute("CREATE EXTENSION postgis")
            yield conn
    finally:
        _as_postgres(f"{PG_BIN}/pg_ctl", "-D", data, "-m", "fast", "stop")
        shutil.rmtree(workdir, ignore_errors=True)


def _copy_wkb(conn: psycopg.Connection[Any], table: str, geoms: Any) -> None:
    with conn.cursor().copy(f"COPY {table} (id, geom) FROM STDIN") as copy:
        for i, wkb in enumerate(shapely.to_wkb(geoms, hex=True).tolist()):
            copy.write_row((i, f"SRID=4326;{wkb}"))


def postgis_inside(conn: psycopg.Connection[Any], geoms: list[Any], lons: npt.NDArray[np.float64],
                   lats: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.int64], float]:
    """Per point the lowest-id ward whose polygon ST_Contains it (-1 for none), and the query's seconds."""
    conn.execute("CREATE TABLE wards (id int PRIMARY KEY, geom geometry(Geometry, 4326))")
    conn.execute("CREATE TABLE pts (id int PRIMARY KEY, geom geometry(Point, 4326))")
    _copy_wkb(conn, "wards", geoms)
    _copy_wkb(conn, "pts", shapely.points(lons, lats))
    conn.execute("CREATE INDEX wards_geom ON wards USING gist (geom)")
    conn.execute("ANALYZE wards")
    conn.execute("ANALYZE pts")
    t0 = time.perf_counter()
    conn.execute("CREATE UNLOGGED TABLE hits AS SELECT p.id AS pt, min(w.id) AS ward"
                 " FROM pts p JOIN wards w ON ST_Contains(w.geom, p.geom) GROUP BY p.id")
    elapsed = time.perf_counter() - t0
    found = np.full(len(lons), -1, dtype=np.int64)
    with conn.cursor().copy("COPY hits (pt, ward) TO STDOUT") as copy:
        for pt, ward in copy.rows():
            found[int(pt)] = int(ward)
    return found, elapsed


def run(points: int | None = None, nx: int = 100, ny: int = 100, naive_sample: int = 200,
        postgis: bool = True) -> dict[str, object]:
    """Locate ``points`` points over nx*ny wards; ratios to the naive loop and to PostGIS."""
    n = points or int(os.environ.get("FLOODMESH_BENCH_GEO_POINTS", "1000000"))
    geoms = synthetic_layer(nx, ny)
    wards = [Ward(f"W{i:05d}", f"Ward {i}", "synthetic", None) for i in range(len(geoms))]
    t0 = time.perf_counter()
    locator = WardLocator(wards, geoms, tolerance_m=500.0, ref_lat=(SOUTH + NORTH) / 2)
    build_s = time.perf_counter() - t0
    lons, lats = random_points(n)
    locator.locate_indices(lons[:1000], lats[:1000])  # warm-up
    t0 = time.perf_counter()
    indices, hows = locator.locate_indices(lons, lats)
    ours_s = time.perf_counter() - t0
    inside = np.where(hows == 0, indices, -1)
    sample = min(naive_sample, n)
    t0 = time.perf_counter()
    naive = naive_inside(geoms, lons[:sample], lats[:sample])
    naive_rate = sample / (time.perf_counter() - t0)
    per_point = min(20 * naive_sample, n)
    t0 = time.perf_counter()
    for lon, lat in zip(lons[:per_point].tolist(), lats[:per_point].tolist(), strict=True):
        locator.locate(lon, lat)
    per_point_rate = per_point / (time.perf_counter() - t0)
    mismatches = int(np.count_nonzero(inside[:sample] != np.array(naive)))
    rate = n / ours_s
    result: dict[str, object] = {
        "name": "geolocate", "points": n, "wards": len(geoms), "points_per_s": round(rate, 1),
        "build_s": round(build_s, 3), "naive_points_per_s": round(naive_rate, 2), "naive_sample": sample,
        "ratio_naive": round(rate / naive_rate, 1), "ratio_per_point": round(rate / per_point_rate, 1),
        "inside": int(np.count_nonzero(hows == 0)), "nearest": int(np.count_nonzero(hows == 1)),
        "ioc": int(np.count_nonzero(hows == 2)),
    }
    if postgis:
        with postgis_cluster() as conn:
            theirs, pg_s = postgis_inside(conn, geoms, lons, lats)
        mismatches += int(np.count_nonzero(theirs != inside))
        result.update(postgis_points_per_s=round(n / pg_s, 1), ratio_postgis=round(pg_s / ours_s, 2))
    result.update(agree=mismatches == 0, mismatches=mismatches)
    return result
