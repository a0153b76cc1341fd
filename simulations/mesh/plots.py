"""PNG plots of mesh runs (matplotlib, Agg backend: no display, no internet)."""

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # after use("Agg"): the backend is chosen before pyplot loads


def plot_utilisation(series: Sequence[tuple[float, float]], title: str, path: Path) -> Path:
    """Channel utilisation over time as one node measures it, against the limits Meshtastic's own modules keep
    (floodmesh's frames, sent through the client API, are not held to them: simulations/mesh/flooding.py)."""
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.plot([t / 60 for t, _ in series], [100 * u for _, u in series], lw=1)
    ax.axhline(25, color="orange", ls="--", lw=1, label="25 %: Meshtastic's own telemetry waits")
    ax.axhline(40, color="red", ls="--", lw=1, label="40 %: Meshtastic's node info waits")
    ax.set(xlabel="simulated minutes", ylabel="channel utilisation, last minute (%)", title=title, ylim=(0, 100))
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_latency_cdf(by_hops: Mapping[int, Sequence[float]], title: str, path: Path) -> Path:
    """CDF of SOS latency to the gateway, one curve per hop count."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for hops, values in sorted(by_hops.items()):
        xs = sorted(values)
        ax.step(xs, [(i + 1) / len(xs) for i in range(len(xs))], where="post", label=f"{hops} relay(s), n={len(xs)}")
    ax.set(xscale="log", xlabel="press to gateway (s)", ylabel="share of SOS delivered", title=title, ylim=(0, 1.02))
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_delivery_vs_nodes(
    curves: Mapping[str, Sequence[tuple[int, float]]],
    threshold: float,
    title: str,
    path: Path,
    telemetry: Mapping[str, Sequence[tuple[int, float]]] | None = None,
) -> Path:
    """SOS delivery ratio against the number of sensors + buttons, one curve per preset (solid), with the
    share of sensor readings delivered (dashed, same colour) when ``telemetry`` is given."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, points in curves.items():
        pts = sorted(points)
        (line,) = ax.plot([n for n, _ in pts], [100 * r for _, r in pts], marker="o", label=f"{name}: SOS")
        if telemetry and name in telemetry:
            tel = sorted(telemetry[name])
            ax.plot([n for n, _ in tel], [100 * r for _, r in tel], marker="x", ls="--", color=line.get_color(),
                    label=f"{name}: sensor readings")
    ax.axhline(100 * threshold, color="red", ls=":", lw=1, label=f"{100 * threshold:g} % goal")
    ax.set(xlabel="sensors + buttons in the ward", ylabel="delivered to the gateway (%)", title=title,
           xscale="log", ylim=(0, 103))
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
