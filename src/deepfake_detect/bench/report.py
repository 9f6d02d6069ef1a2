"""The bench's tables: rich on the terminal, Markdown for docs/performance.md."""

from __future__ import annotations

from .records import STAGES

VIDEO_COLUMNS = (
    "pipeline",
    "clip",
    "faces/crops",
    "decode",
    "detect",
    "crop",
    "classify",
    "aggregate",
    "total (s)",
    "CPU (s)",
    "vs naive",
)
SERVER_COLUMNS = (
    "workers × threads",
    "backend",
    "clip",
    "clients",
    "videos",
    "videos/min",
    "latency p50 (s)",
    "peak RSS (MiB)",
    "cold start (s)",
    "CPU s/video",
    "videos/min if idle",
)


def video_rows(result: dict) -> list[list[str]]:
    """One row per (pipeline, clip): stage medians, wall and CPU seconds, speed-up over naive (wall)."""
    rows = []
    naive = result.get("naive", {})
    for r in result["runs"]:
        t = r["timings"]
        base = naive.get(r["clip"], {}).get("timings", {}).get("total_s")
        ratio = f"{base / t['total_s']:.1f}x" if base and t["total_s"] else "-"
        name = r["runtime"] if r["runtime"] == r["backend"] else f"{r['runtime']} → {r['backend']}"
        cells = [f"{t[k]:.3f}" for k in STAGES] + [f"{t.get('cpu_s', float('nan')):.2f}"]
        rows.append([f"ours ({name})", r["clip"], f"{r['faces']}/{r['crops']}", *cells, ratio])
    for clip, n in naive.items():
        t = n["timings"]
        cells = [f"{t[k]:.3f}" for k in STAGES] + [f"{t.get('cpu_s', float('nan')):.2f}"]
        who = f"naive seed-style ({result.get('naive_threads')} threads)"
        rows.append([who, clip, f"1/{n['faces']}", *cells, "1.0x"])
    return rows


def server_rows(result: dict) -> list[list[str]]:
    return [
        [
            f"{c['workers']} × {c['torch_threads']}",
            str(c["backend"]),
            c["clip"],
            str(c["clients"]),
            str(c["videos"]),
            f"{c['videos_per_min']:.1f}",
            str(c["latency_p50_s"]),
            str(c["peak_rss_mb"]),
            str(c["cold_start_s"]),
            str(c.get("cpu_s_per_video", "-")),
            str(c.get("videos_per_min_if_idle", "-")),
        ]
        for c in (result.get("server") or {}).get("configs", [])
    ]


def print_tables(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:  # piped or captured: do not squeeze the tables into 80 columns
        console = Console(width=190)
    m = result["machine"]
    console.print(
        f"[bold]{m['cpu']}[/], {m['cores']} cores ({m['flags']}); torch {m['torch']}, onnxruntime "
        f"{m['onnxruntime']}; load average {m['load_average_start']} -> {m.get('load_average_end')}"
    )
    console.print(f"model: {result['model']}")

    def show(title: str, columns: tuple[str, ...], rows: list[list[str]], left: int) -> None:
        table = Table(title=title)
        for i, col in enumerate(columns):
            table.add_column(col, justify="left" if i < left else "right")
        for row in rows:
            table.add_row(*row)
        console.print(table)

    show(f"per video, {result['frames']} frames (medians; seconds)", VIDEO_COLUMNS, video_rows(result), 2)
    server = result.get("server")
    if server:
        show(
            "server under concurrent uploads (deepfake-detect serve, real HTTP)",
            SERVER_COLUMNS,
            server_rows(result),
            1,
        )
        if "cold_start_empty_cache_s" in server:
            console.print(f"cold start with an empty runtime cache: {server['cold_start_empty_cache_s']} s")
    diffs = result.get("probability_diffs")
    if diffs:
        rows = [
            [k, d["backend"], f"{d['max_video_diff']:.4f}", f"{d['max_frame_diff']:.4f}"]
            for k, d in diffs.items()
        ]
        show(
            "same verdicts: max |P(fake) - P_fp32| on the bench videos (eager fp32 reference)",
            ("runtime", "backend", "video", "frame"),
            rows,
            1,
        )
    acc = result.get("accuracy")
    if acc:
        rows = [
            [
                runtime,
                row["backend"],
                f"{row['auc']:.4f}",
                str(row.get("auc_drop", "-")),
                str(row.get("max_video_diff", "-")),
                str(row.get("passed", "reference")),
            ]
            for runtime, row in acc.items()
            if isinstance(row, dict)
        ]
        show(
            f"accuracy on {acc['videos']} labelled videos ({acc['split']} split)",
            ("runtime", "backend", "video AUC", "AUC drop", "max |dP| video", "passed"),
            rows,
            1,
        )


def _markdown_table(columns: tuple[str, ...], rows: list[list[str]], left: int) -> list[str]:
    align = ["---" if i < left else "---:" for i in range(len(columns))]
    return [f"| {' | '.join(columns)} |", f"|{'|'.join(align)}|", *(f"| {' | '.join(r)} |" for r in rows)]


def markdown(result: dict) -> str:
    """The per-video and server tables as Markdown, for docs/performance.md."""
    lines = _markdown_table(VIDEO_COLUMNS, video_rows(result), 2)
    if result.get("server"):
        lines += ["", *_markdown_table(SERVER_COLUMNS, server_rows(result), 1)]
    return "\n".join(lines) + "\n"
