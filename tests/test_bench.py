"""`deepfake-detect bench --quick` runs end to end and prints its table; the table helpers are pure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deepfake_detect import bench
from deepfake_detect.bench.clips import cpu_flags
from deepfake_detect.cli import main


@pytest.mark.slow
def test_quick_bench_runs_and_prints_the_table(tmp_path: Path, capsys) -> None:
    out = tmp_path / "bench.json"
    md = tmp_path / "bench.md"
    args = ["bench", "--quick", "--workdir", str(tmp_path / "work"), "--no-server", "--threads", "1"]
    args += ["--json", str(out)]  # one thread: the seed-style MTCNN is slow on a busy 2-core machine
    assert main([*args, "--markdown", str(md)]) == 0
    printed = capsys.readouterr().out
    for text in ("per video", "ours (auto", "naive seed-style", "decode", "classify", "vs naive"):
        assert text in printed
    result = json.loads(out.read_text())
    assert result["machine"]["cores"] >= 1 and result["frames"] == 8
    (run,) = result["runs"]
    assert run["backend"] == "onnx" and run["faces"] >= 1 and run["timings"]["total_s"] > 0
    assert set(bench.STAGES) <= run["timings"].keys()
    naive = result["naive"]["synthetic_240p_2s"]
    assert naive["faces"] >= 1 and naive["probability"] is not None
    assert result["probability_diffs"]["auto"]["max_video_diff"] <= 0.01  # ONNX fp32 vs eager fp32
    assert md.read_text().startswith("| pipeline |")


def test_markdown_and_probability_diffs() -> None:
    timings = dict.fromkeys(bench.STAGES, 0.5) | {"total_s": 1.0, "cpu_s": 1.5}
    ours = bench.Run("onnx-int8", "onnx-int8", "clip", 1, 1, 2, timings, [1.0], 0.50, [0.4, 0.6])
    ref = bench.Run("torch", "torch", "clip", 1, 1, 2, timings, [1.0], 0.503, [0.41, 0.6])
    diffs = bench.probability_diffs([ours], [ref])
    assert diffs == {"onnx-int8": {"backend": "onnx-int8", "max_video_diff": 0.003, "max_frame_diff": 0.01}}
    from dataclasses import asdict

    result = {
        "runs": [asdict(ours)],
        "naive": {"clip": {"timings": dict(timings, total_s=9.0), "faces": 2}},
        "server": {
            "configs": [
                {
                    "workers": 2,
                    "torch_threads": 1,
                    "backend": "onnx",
                    "clip": "clip",
                    "clients": 4,
                    "videos": 8,
                    "videos_per_min": 50.0,
                    "latency_p50_s": 4.0,
                    "peak_rss_mb": 1400.0,
                    "cold_start_s": 5.0,
                    "cpu_s_per_video": 2.0,
                    "videos_per_min_if_idle": 60.0,
                }
            ]
        },
    }
    text = bench.markdown(result)
    assert "| ours (onnx-int8) | clip | 1/2 | 0.500 |" in text and "| 1.000 | 1.50 | 9.0x |" in text
    assert "| 2 × 1 | onnx | clip | 4 | 8 | 50.0 | 4.0 | 1400.0 | 5.0 | 2.0 | 60.0 |" in text


def test_cpu_flags_names_whole_flags_in_a_fixed_order() -> None:
    avx2_only = "processor\t: 0\nflags\t\t: fpu sse avx f16c avx2 sha_ni vaes\nbugs\t\t: sysret_ss_attrs\n"
    assert cpu_flags(avx2_only) == "avx2"
    xeon = "flags\t: avx512_vnni amx_int8 avx512fp16 avx2 avx512_bf16\n"  # avx512fp16 is not avx512f
    assert cpu_flags(xeon) == "avx2 avx512_bf16 avx512_vnni amx_int8"
    assert cpu_flags("no flags line here") == ""
