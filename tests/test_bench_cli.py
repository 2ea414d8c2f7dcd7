"""`python -m scanner decode` and `bench` as a user runs them: a real process, real files."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import qrcode

from scanner.bench import condition_of

# A service and a scanner run as processes of their own, on the real clock.
pytestmark = pytest.mark.other_process

ROOT = Path(__file__).resolve().parents[1]
TEXTS = {
    "nominal_000.png": "GP1.eyJwIjoxfQ.abc-DEF_123",
    "nominal_001.jpg": "GP1.eyJwIjoyfQ.xyz-UVW_987",
    "tilt_000.png": "GP1.eyJwIjozfQ.tilted-Pass_55",
    "blank_000.png": "GP1.never-there",  # no code in the picture: counted as a miss
}


def render(text: str, size: int = 300, tilt: float = 0.0) -> np.ndarray:
    qr = qrcode.QRCode(border=4, box_size=1)
    qr.add_data(text)
    qr.make(fit=True)
    m = np.array(qr.get_matrix(), dtype=bool)
    code = cv2.resize(np.where(m, 0, 255).astype(np.uint8), (size, size),
                      interpolation=cv2.INTER_NEAREST)
    frame = np.full((480, 640), 120, np.uint8)
    src = np.float32([[0, 0], [size, 0], [size, size], [0, size]])
    d = tilt * size
    dst = np.float32([[170 + d, 90], [470 - d, 90], [470, 390], [170, 390]])
    hom = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(code, hom, (640, 480), dst=frame, borderMode=cv2.BORDER_TRANSPARENT)


@pytest.fixture(scope="module")
def frames(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("frames")
    cv2.imwrite(str(folder / "nominal_000.png"), render(TEXTS["nominal_000.png"]))
    cv2.imwrite(str(folder / "nominal_001.jpg"),
                cv2.cvtColor(render(TEXTS["nominal_001.jpg"], 260), cv2.COLOR_GRAY2BGR))
    cv2.imwrite(str(folder / "tilt_000.png"), render(TEXTS["tilt_000.png"], tilt=0.15))
    cv2.imwrite(str(folder / "blank_000.png"), np.full((480, 640), 128, np.uint8))
    (folder / "broken_000.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    truth = dict(TEXTS, **{"broken_000.jpg": "GP1.broken"})
    (folder / "truth.json").write_text(json.dumps(truth), encoding="utf-8")
    return folder


def scanner(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scanner", *args], cwd=ROOT, text=True,
                          capture_output=True, timeout=timeout)


def test_decode_json_lines(frames):
    files = [str(frames / n) for n in TEXTS] + [str(frames / "broken_000.jpg"),
                                                str(frames / "missing.png")]
    proc = scanner("decode", "--json", *files)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == len(files)
    records = [json.loads(line) for line in lines]
    assert [r["file"] for r in records] == files
    for rec in records:
        assert {"file", "text", "ms"} <= rec.keys()
        assert isinstance(rec["ms"], float)
        assert rec["text"] is None or isinstance(rec["text"], str)
    by_name = {Path(r["file"]).name: r for r in records}
    for name in ("nominal_000.png", "nominal_001.jpg", "tilt_000.png"):
        assert by_name[name]["text"] == TEXTS[name]
        assert "error" not in by_name[name]
        assert len(by_name[name]["points"]) == 4
    assert by_name["blank_000.png"]["text"] is None and "error" not in by_name["blank_000.png"]
    for bad in ("broken_000.jpg", "missing.png"):
        assert by_name[bad]["text"] is None and by_name[bad]["error"]


def test_decode_reads_what_opencv_cannot_open(frames, tmp_path):
    from PIL import Image

    tga = tmp_path / "phone_000.tga"  # OpenCV has no TGA reader; Pillow has
    Image.fromarray(render(TEXTS["nominal_000.png"])).save(tga)
    assert cv2.imread(str(tga)) is None
    proc = scanner("decode", "--json", str(tga))
    assert json.loads(proc.stdout)["text"] == TEXTS["nominal_000.png"]


def test_decode_human_readable(frames):
    proc = scanner("decode", str(frames / "nominal_000.png"), str(frames / "missing.png"))
    assert proc.returncode == 0, proc.stderr
    first, second = proc.stdout.strip().splitlines()
    assert TEXTS["nominal_000.png"] in first and "ms" in first
    assert "missing.png" in second and "error" in second
    assert not proc.stdout.lstrip().startswith("{")


def test_bench_table(frames):
    proc = scanner("bench", str(frames))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    header = out.splitlines()[0]
    for method in ("zxing", "zbar", "opencv", "chain"):
        assert f"{method} %" in header
    rows = {tuple(c.strip() for c in line.strip("|").split("|")[:2]): line
            for line in out.splitlines()[2:]}
    name = frames.name
    for row in ("nominal", "tilt", "blank", "broken", "**all**", "median ms", "p95 ms"):
        assert (name, row) in rows, row
    cells = [c.strip() for c in rows[(name, "nominal")].strip("|").split("|")]
    assert cells[2] == "2" and cells[-1] == "100.0"  # two frames, chain read both
    overall = [c.strip() for c in rows[(name, "**all**")].strip("|").split("|")]
    assert overall[2] == "5" and overall[-1] == "**60.0**"  # 3 of 5: blank and broken miss
    assert "broken_000.jpg" in proc.stderr


def test_bench_json(frames):
    proc = scanner("bench", "--json", str(frames), str(frames))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert len(report["sets"]) == 2
    methods = report["sets"][0]["methods"]
    assert {"zxing", "zbar", "opencv", "opencv-aruco", "chain"} <= methods.keys()
    chain = methods["chain"]
    assert chain["frames"] == 5 and chain["decoded"] == 3 and chain["rate"] == 0.6
    assert chain["conditions"]["nominal"] == {"decoded": 2, "frames": 2, "rate": 1.0}
    assert chain["median_ms"] > 0 and chain["p95_ms"] >= chain["median_ms"]
    assert report["sets"][0]["missing"] == ["broken_000.jpg"]


def test_bench_needs_truth(tmp_path):
    proc = scanner("bench", str(tmp_path))
    assert proc.returncode == 2
    assert "truth.json" in proc.stderr


def test_help_lists_the_commands():
    proc = scanner("--help")
    assert proc.returncode == 0
    assert "decode" in proc.stdout and "bench" in proc.stdout


@pytest.mark.parametrize("name, condition", [
    ("blur_003.jpg", "blur"), ("qrcode-2_12.png", "qrcode-2"), ("nominal_000.jpg", "nominal"),
    ("low_light_017.png", "low_light"), ("plain.png", "plain"),
])
def test_condition_is_the_name_before_the_last_part(name, condition):
    assert condition_of(name) == condition


def test_held_out_frames_are_made_and_read(tmp_path):
    """scripts/make_gate_frames.py renders a labelled set the chain has never seen; the
    easy conditions of it must read, and `bench --json` must see every frame."""
    out = tmp_path / "heldout"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_gate_frames.py"), str(out),
                    "--per-condition", "2", "--seed", "3", "--conditions",
                    "nominal,inverted,rotated"], check=True, capture_output=True, timeout=120)
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    assert len(truth) == 6 and all((out / name).is_file() for name in truth)
    res = subprocess.run([sys.executable, "-m", "scanner", "bench", "--json", str(out)],
                         cwd=ROOT, capture_output=True, text=True, check=True, timeout=300)
    methods = json.loads(res.stdout)["sets"][0]["methods"]
    assert methods["chain"]["frames"] == 6
    assert methods["chain-still"]["decoded"] == 6
    assert methods["chain-still-signed"]["decoded"] == 6


def test_held_passes_start_at_the_still_frame_and_are_read_frame_after_frame(tmp_path):
    """`--held K` renders each pass as K frames of a hand holding it up: the first is the
    still frame of the same seed byte for byte (so held and still figures compare), the
    others move a little; scripts/bench_held.py reads them as the gate does."""
    gen = [sys.executable, str(ROOT / "scripts" / "make_gate_frames.py")]
    args = ["--per-condition", "2", "--seed", "3", "--conditions", "nominal,bent"]
    subprocess.run(gen + [str(tmp_path / "still")] + args, check=True, capture_output=True,
                   timeout=120)
    subprocess.run(gen + [str(tmp_path / "held")] + args + ["--held", "3"], check=True,
                   capture_output=True, timeout=120)
    held = json.loads((tmp_path / "held" / "truth.json").read_text(encoding="utf-8"))
    still = json.loads((tmp_path / "still" / "truth.json").read_text(encoding="utf-8"))
    assert held == {name.removesuffix(".jpg"): text for name, text in still.items()}
    for name in held:
        frames = [(tmp_path / "held" / name / f"f0{k}.jpg").read_bytes() for k in range(3)]
        assert frames[0] == (tmp_path / "still" / f"{name}.jpg").read_bytes()
        assert frames[1] != frames[0] and frames[2] != frames[1]
    res = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_held.py"),
                          str(tmp_path / "held")], capture_output=True, text=True, check=True,
                         timeout=300)
    assert "nominal        2/2" in res.stdout and "wrong 0" in res.stdout
