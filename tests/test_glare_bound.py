"""scripts/glare_bound.py: the share of glare-on-blur frames any decoder could read."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from scanner.equalise import with_neighbours

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import glare_bound  # noqa: E402 - scripts are not a package
import make_gate_frames as gen  # noqa: E402


def test_tracing_a_frame_leaves_the_random_stream_as_it_was():
    """The bound re-renders the bench's sets, so a traced frame must be the same frame."""
    rng = np.random.default_rng(5)
    plain = [gen.render(rng, c)[2].tobytes() for c in ("glare-blur", "bent")]
    rng = np.random.default_rng(5)
    traces = [{}, {}]
    traced = [gen.render(rng, c, t)[2].tobytes() for c, t in zip(("glare-blur", "bent"), traces)]
    assert traced == plain
    assert traces[0]["quad"].shape == (4, 2) and "quad" not in traces[1]
    assert traces[0]["unclipped"].max() > 255  # the glare spot, before the clip


def test_a_clipped_module_erases_the_codewords_it_touches():
    m = gen.modules("HELLO-GATE-0001", "M")
    none = glare_bound.erased_per_block(m, np.zeros(m.shape, bool))
    assert all(e == 0 for e, _ in none) and all(ec > 0 for _, ec in none)
    everything = glare_bound.erased_per_block(m, np.ones(m.shape, bool))
    assert all(e > ec for e, ec in everything)
    inner = with_neighbours(np.ones(m.shape, bool))
    assert inner[1:-1, 1:-1].all() and not inner[0].any() and not inner[:, -1].any()
    speck = np.zeros(m.shape, bool)
    speck[5:8, 5:9] = True  # 3 x 4: only its 2 middle modules keep all 8 neighbours
    assert with_neighbours(speck).sum() == 2
    corner = np.zeros(m.shape, bool)
    corner[-4:, -4:] = True  # the first data codewords: bottom right
    assert 0 < sum(e for e, _ in glare_bound.erased_per_block(m, corner)) <= 4


def test_the_bound_of_a_set(capsys):
    assert glare_bound.main(["--seed", "23", "--per-condition", "8",
                             "--conditions", "glare-blur"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 9 and lines[-1].startswith("8 glare-blur frames: ")
    for line in lines[:-1]:
        verdict, blocks = line.split()[1], [tuple(map(int, b.split("/"))) for b in line.split()[2:]]
        assert all(lost <= clipped for clipped, lost, _ in blocks)
        assert verdict == ("LOST" if any(lost > ec for _, lost, ec in blocks) else
                           "BEYOND" if any(c > ec for c, _, ec in blocks) else "within")
