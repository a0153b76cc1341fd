"""Plots of benchmark results that are better looked at than read (matplotlib, PNG, no display)."""

from pathlib import Path


def plot_latencies(series_ms: dict[str, list[float]], goals_p99_ms: dict[str, float], path: Path) -> None:
    """Latency distributions as CDFs on a log axis, with the p99 goals as vertical lines."""
    import matplotlib

    matplotlib.use("Agg")  # a file, never a window: benchmarks run on servers and in CI
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for label, samples in series_ms.items():
        ordered = sorted(samples)
        ax.step(ordered, [(i + 1) / len(ordered) for i in range(len(ordered))], where="post", label=label)
    for label, goal in goals_p99_ms.items():
        ax.axvline(goal, linestyle="--", linewidth=0.8, color="grey")
        ax.annotate(f"p99 goal {label}: {goal:g} ms", (goal, 0.02), rotation=90, fontsize=7, color="grey")
    ax.axhline(0.99, linestyle=":", linewidth=0.8, color="grey")
    ax.set_xscale("log")
    ax.set_xlabel("milliseconds (log)")
    ax.set_ylabel("share of SOS / round trips")
    ax.set_title("SOS radio -> radio through gateway, Mosquitto (TLS) and central")
    ax.legend(loc="lower right")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_national_load(
    stored: list[tuple[float, int]], offered: list[tuple[float, int]], sos: list[tuple[float, float]], path: Path
) -> None:
    """Readings stored against readings offered over time, and each SOS's latency at the time it was sent."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    top.plot([t for t, _ in stored], [n for _, n in stored], label="stored by central")
    top.plot([t for t, _ in offered], [n for _, n in offered], linestyle="--", color="grey", label="offered")
    top.set_ylabel("readings")
    top.set_title("national_load: readings stored and SOS latency")
    top.legend(loc="upper left")
    top.grid(True, alpha=0.3)
    bottom.scatter([t for t, _ in sos], [ms for _, ms in sos], s=6)
    bottom.set_yscale("log")
    bottom.set_xlabel("seconds since the first reading was sent")
    bottom.set_ylabel("SOS publish -> ACK (ms, log)")
    bottom.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
