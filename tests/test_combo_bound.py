"""scripts/combo_bound.py: whether a blurred or shaken frame's module values are there."""
from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import combo_bound  # noqa: E402 - scripts are not a package
import make_gate_frames as gen  # noqa: E402


def test_the_trace_holds_the_blur_the_camera_added_and_the_frames_stay_the_same():
    """The bound undoes the generator's own blur, so the trace must name it, and a traced
    frame must be the frame the bench's sets hold."""
    conditions = ("blur", "motion", "nominal")
    rng = np.random.default_rng(11)
    plain = [gen.render(rng, c)[2].tobytes() for c in conditions]
    rng = np.random.default_rng(11)
    traces = [{}, {}, {}]
    assert [gen.render(rng, c, t)[2].tobytes() for c, t in zip(conditions, traces)] == plain
    blur, motion, nominal = traces
    assert blur["focus"] > 1.0 and "shake" not in blur
    length, angle = motion["shake"]
    assert length > 3.0 and 0.0 <= angle <= 180.0 and "focus" not in motion
    assert "focus" not in nominal and "shake" not in nominal


def test_a_block_is_scored_against_its_check_codewords():
    m = gen.modules("HELLO-GATE-0001", "M")
    sure = np.where(m, 1.0, -1.0)
    assert combo_bound.worst_block(m, sure) == (0.0, 0.0)
    errors, erasures = combo_bound.worst_block(m, -sure)  # every module wrong, all sure
    assert errors > 1 and erasures > 1
    unsure = sure.copy()
    unsure[-4:, -4:] *= -0.01  # the first data codewords wrong, and known to be unsure
    errors, erasures = combo_bound.worst_block(m, unsure)
    assert 0 < erasures < errors


def test_a_sharp_code_sampled_on_its_true_grid_has_no_module_wrong():
    """A clean code drawn at 6 px a module, with its quiet zone: the bound's sampling and
    normalisation read every module right."""
    m = gen.modules("HELLO-GATE-0001", "M")
    n, box, quiet = m.shape[0], 6, 4
    side = (n + 2 * quiet) * box
    img = np.full((side, side), 230, np.float32)
    img[quiet * box:(quiet + n) * box, quiet * box:(quiet + n) * box] = np.where(
        np.kron(m, np.ones((box, box))), 25, 230)
    img = cv2.GaussianBlur(img, (0, 0), 0.7)
    a, b = quiet * box, (quiet + n) * box
    quad = np.float32([[a, a], [b, a], [b, b], [a, b]])
    soft = combo_bound.sampled(img, quad, n)
    assert ((soft > 0) == m).all()


def test_the_bound_of_a_set(capsys):
    assert combo_bound.main(["--seed", "72", "--per-condition", "4",
                             "--conditions", "combo,blur", "--only", "combo,blur"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 9
    verdicts = [line.split()[1] for line in lines[:-1]]
    assert set(verdicts) <= {"errors-ok", "erasures-ok", "BEYOND"}
    assert lines[-1] == ", ".join(f"{verdicts.count(v)} {v}"
                                  for v in ("errors-ok", "erasures-ok", "BEYOND"))
    assert all(line.split()[0].startswith(("combo_", "blur_")) for line in lines[:-1])
