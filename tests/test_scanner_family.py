"""A family at the gate (issue 19 §2): parents show a phone and a child's card together, an
elderly couple holds up two cards. One frame, two or three passes: a verdict for each, each
posted once with its own nonce, shown side by side with the worst first.

The real scanner program reads rendered frames (a still and a queue video) and talks HTTP to
a live service, as at a gate.
"""
from __future__ import annotations

import cv2
import pytest

from scanner_helpers import (LiveService, ScannerProcess, Visitor, copy_keys, family_frame,
                             make_family_video)

PEOPLE = [{"name": "张建国"}, {"name": "李秀英"}, {"name": "张小明", "status": "revoked"},
          {"name": "王德福"}, {"name": "刘桂兰"}]


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    svc = LiveService(tmp_path_factory.mktemp("family-service"))
    svc.seed(PEOPLE)
    svc.gate_keys = copy_keys(svc, svc.root / "gate-keys")
    svc.start()
    yield svc
    svc.stop()


def visitor(service, i: int, style: str = "card") -> Visitor:
    p = service.passes[i]
    return Visitor(p["dynamic"] if style == "phone" else p["token"], style, p["holder"])


def run_scanner(service, source, outbox, *extra) -> list[dict]:
    proc = ScannerProcess(service.url, service.device_token, str(source), outbox,
                          service.gate_keys, *extra)
    assert proc.finish(timeout=120) == 0, proc.errors()
    return [v for v in proc.verdicts if v.get("type") == "scan"]


def logged_once(service, verdicts: list[dict]) -> bool:
    nonces = [s["nonce"] for s in service.scans()]
    return all(nonces.count(v["nonce"]) == 1 for v in verdicts)


def test_every_pass_in_a_family_frame_is_read(keys_dir):
    """The decoder chain keeps every accepted code of the frame (``ChainResult.codes``),
    the first first; the scanner takes them all."""
    from gatepass.tokens import KeyRing, issue_dynamic, issue_static, looks_like_ours
    from scanner.chain import DecoderChain
    from scanner.gate import texts_in

    ring = KeyRing.load(keys_dir)
    texts = [issue_dynamic(ring, 1, 1), issue_static(ring, 2, 1), issue_static(ring, 3, 1)]
    frame = family_frame([Visitor(texts[0], "phone"), Visitor(texts[1]), Visitor(texts[2])])
    chain = DecoderChain(accept=looks_like_ours, carry_over=True)
    found = texts_in(frame, chain)
    assert sorted(text for text, _ in found) == sorted(texts)
    assert all(points is not None and len(points) == 4 for _, points in found)
    assert chain.decode_still(frame).codes[0][0] in texts
    assert len(chain.decode_still(frame).codes) == 3


@pytest.mark.other_process  # a live service and a scanner keep the real clock
def test_three_passes_in_one_frame_get_three_verdicts_worst_first(service, tmp_path):
    """Father's phone, mother's card, the child's card (revoked): three scans, three
    nonces, the revoked one first; one screen showing the three side by side."""
    frame = tmp_path / "family.png"
    cv2.imwrite(str(frame), family_frame([visitor(service, 0, "phone"), visitor(service, 1),
                                          visitor(service, 2)]))
    screens = tmp_path / "screens"
    verdicts = run_scanner(service, frame, tmp_path / "outbox.sqlite3",
                           "--save-screens", str(screens))
    assert [(v["reason"], v["group"]) for v in verdicts] == \
        [("REVOKED", 3), ("OK", 3), ("OK", 3)]
    assert not verdicts[0]["allowed"] and not any(v["offline"] for v in verdicts)
    assert len({v["nonce"] for v in verdicts}) == 3
    assert logged_once(service, verdicts)
    names = sorted((v["holder"] or {}).get("name") for v in verdicts)
    assert names == sorted(["张*国", "李*英", "张*明"])
    shots = sorted(screens.glob("*.png"))
    assert len(shots) == 1 and "REVOKED" in shots[0].name  # one screen for the family
    screen = cv2.imread(str(shots[0]))
    b, g, r = (int(c) for c in screen[130:160, 20:240].reshape(-1, 3).mean(axis=0))
    assert r > 150 and r > 2 * g  # the worst verdict, first, in red


@pytest.mark.other_process
def test_a_queue_video_of_families_posts_each_pass_once(service, tmp_path):
    """Two families in a queue: an elderly couple, then three of a family; each pass is
    posted once however many frames it stays in view."""
    video = tmp_path / "families.avi"
    make_family_video(video, [[visitor(service, 3), visitor(service, 4)],
                              [visitor(service, 0), visitor(service, 1, "phone"),
                               visitor(service, 2)]])
    verdicts = run_scanner(service, video, tmp_path / "outbox.sqlite3", "--cooldown", "0.2",
                           "--direction", "out")  # going out: whoever came in before
    assert [v["group"] for v in verdicts] == [2, 2, 3, 3, 3]
    assert [v["reason"] for v in verdicts] == ["OK", "OK", "REVOKED", "OK", "OK"]
    assert len({v["nonce"] for v in verdicts}) == 5
    assert logged_once(service, verdicts)
