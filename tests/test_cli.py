import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from deepfake_detect.cli import expand_paths, main

ROOT = Path(__file__).resolve().parents[1]


def test_scan_json_gives_one_object_per_file(tiny_checkpoint, video_mp4, video_no_face, text_as_mp4, capsys):
    code = main(["scan", "--json", "--frames", "4", "--model", str(tiny_checkpoint),
                 str(video_mp4), str(video_no_face), str(text_as_mp4)])  # fmt: skip
    assert code == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [Path(r["path"]).name for r in rows] == ["one_face.mp4", "no_face.mp4", "text.mp4"]
    assert 0 <= rows[0]["fake_probability"] <= 1 and rows[0]["faces"] == 1
    assert rows[0]["sha256"] == hashlib.sha256(video_mp4.read_bytes()).hexdigest()
    assert rows[1]["fake_probability"] is None and "no face" in rows[1]["reason"]
    assert rows[2]["fake_probability"] is None and "not a video" in rows[2]["reason"]


def test_scan_plots_a_timeline_per_video(tiny_checkpoint, video_two_faces, tmp_path, capsys):
    args = ["scan", "--json", "--frames", "4", "--model", str(tiny_checkpoint), "--plots", str(tmp_path)]
    assert main([*args, str(video_two_faces)]) == 0
    row = json.loads(capsys.readouterr().out)
    assert Path(row["plot"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for folder in ("a", "b"):  # two videos of one name, in two folders: a plot each
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "clip.mp4").write_bytes(video_two_faces.read_bytes())
    assert main([*args, str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    plots = [json.loads(line)["plot"] for line in capsys.readouterr().out.splitlines()]
    assert [Path(p).name for p in plots] == ["clip.png", "clip-2.png"]


def test_scan_table_and_folder_expansion(tiny_checkpoint, video_mp4, tmp_path, capsys):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "clip.mov").write_bytes(video_mp4.read_bytes())
    (tmp_path / "top.mp4").write_bytes(video_mp4.read_bytes())
    (tmp_path / "notes.txt").write_text("ignored")
    assert expand_paths([str(tmp_path)]) == [tmp_path / "sub" / "clip.mov", tmp_path / "top.mp4"]
    assert main(["scan", "--frames", "4", "--model", str(tiny_checkpoint), str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "clip.mov" in out and ("REAL" in out or "FAKE" in out)
    assert "│ sub/clip.mov " in out and "files under" in out  # relative to the folder, on one line
    (tmp_path / "broken.mp4").write_bytes(b"not a video")
    assert main(["scan", "--frames", "4", "--model", str(tiny_checkpoint), str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "│ ERROR   │" in out and "[1]  │" in out  # the reason below the table, in full, not in a cell
    assert out.rstrip().splitlines()[-1].startswith("[1] broken.mp4: ")


def test_scan_refuses_a_missing_model(video_mp4, tmp_path, capsys):
    assert main(["scan", "--model", str(tmp_path / "nope.pth"), str(video_mp4)]) == 2
    assert "not found" in capsys.readouterr().err


def test_a_setting_out_of_range_is_one_line_not_a_traceback(video_mp4, monkeypatch, capsys):
    assert main(["scan", "--threshold", "1.5", str(video_mp4)]) == 2
    assert capsys.readouterr().err == (
        "error: setting PREDICTION_THRESHOLD=1.5: Input should be less than or equal to 1\n"
    )
    monkeypatch.setenv("PORT", "eighty")  # the environment too, for every command
    assert main(["serve"]) == 2
    assert "error: setting PORT='eighty': Input should be a valid integer" in capsys.readouterr().err


def test_serve_refuses_an_upload_dir_it_cannot_write_before_binding(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    result = subprocess.run(
        [sys.executable, str(ROOT / "backend.py")],
        env={"UPLOAD_DIR": str(tmp_path / "a-file" / "uploads"), "PATH": "/usr/bin:/bin", "PORT": "1"},
        capture_output=True,
        text=True,
        timeout=60,  # without the check it would serve on port 1 until killed
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: UPLOAD_DIR=") and "a-file/uploads cannot hold" in result.stderr


@pytest.mark.slow  # a server process starts (and refuses)
def test_serve_refuses_a_broken_model_path_before_binding(tmp_path):
    bad = tmp_path / "broken.pth"
    bad.write_text("garbage")
    result = subprocess.run(
        [sys.executable, str(ROOT / "backend.py")],
        env={"MODEL_PATH": str(bad), "PATH": "/usr/bin:/bin", "PORT": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "broken.pth" in result.stderr
