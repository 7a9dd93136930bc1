"""Identity verification accuracy on a list of face pairs, through the product path.

Run: .venv/bin/python benchmarks/identity_accuracy.py --pairs PAIRS.txt --images DIR

Each pair enrols its first image (``proctoring.enrol``, registration-photo rules and all)
and judges its second image as a candidate's first exam frame (``analyze_frame``).
Pair lines are LFW's: ``name n1 n2`` (same person) or ``name1 n1 name2 n2`` (different
people), tab- or space-separated; a first line of counts (``10 300``, ``1000``) is
skipped. Image ``n`` of ``name`` is ``DIR/name/name_000n.jpg`` (LFW's layout) or else
``DIR/name/n.jpg``.

Printed figures, the last line one JSON object:
- ``accuracy``, ``far``, ``frr``: at the product's default settings, over the pairs with an
  identity decision (an enrolment and a frame whose main face was judged);
- ``undecided``: share of pairs without one (enrolment refused, no face, poor image);
- ``cv_accuracy``: 10-fold accuracy on raw distances over all pairs (folds of equal size in
  file order; each fold judged at the threshold that is best on the other nine). A raw
  distance ignores the product's refusals: the largest face of the first image, encoded as
  enrol() encodes, against the main face the frame detector finds in the second; a pair
  with no face on either side has an infinite distance;
- ``threshold``: the tolerance the product used; ``ms_per_pair``: wall-clock time of the
  whole evaluation divided by the pairs (2 worker processes).
Every image is enrolled at most once (a per-image cache), and encoded as a frame at most
once per process for raw distances.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

warnings.simplefilter("ignore")

import numpy as np  # noqa: E402

PROCESSES = 2
FOLDS = 10


@dataclass(frozen=True, slots=True)
class Pair:
    first: Path
    second: Path
    same: bool


def _image(images: Path, name: str, number: str) -> Path:
    lfw = images / name / f"{name}_{int(number):04d}.jpg"
    return lfw if lfw.is_file() or not (images / name / f"{int(number)}.jpg").is_file() else images / name / f"{int(number)}.jpg"


def read_pairs(path: Path, images: Path) -> list[Pair]:
    lines = [ln.split() for ln in path.read_text().splitlines() if ln.strip()]
    if lines and all(tok.isdigit() for tok in lines[0]):
        lines = lines[1:]
    pairs = []
    for number, fields in enumerate(lines, 1):
        if len(fields) == 3 and fields[1].isdigit() and fields[2].isdigit():
            pairs.append(Pair(_image(images, fields[0], fields[1]), _image(images, fields[0], fields[2]), True))
        elif len(fields) == 4 and fields[1].isdigit() and fields[3].isdigit():
            pairs.append(Pair(_image(images, fields[0], fields[1]), _image(images, fields[2], fields[3]), False))
        else:
            raise SystemExit(f"{path}: line {number} is not a pair line: {' '.join(fields)!r}")
    missing = sorted({str(p) for pair in pairs for p in (pair.first, pair.second) if not p.is_file()})
    if missing:
        raise SystemExit(f"{len(missing)} images missing, e.g. {missing[0]}")
    return pairs


def _init_worker() -> None:
    from proctoring import limit_native_threads
    from proctoring.faces import warm_up

    limit_native_threads()
    warm_up()


def enrol_image(path: str) -> dict[str, object]:
    """The product's enrolment of one image, and its raw encoding when refused."""
    from proctoring import EnrolmentRefused, enrol

    data = Path(path).read_bytes()
    try:
        return {"enrolment": enrol(data, person_id=path, now=0.0).to_dict(), "refusal": None, "raw": None}
    except EnrolmentRefused as exc:
        raw = raw_enrolment_encoding(data)
        return {"enrolment": None, "refusal": str(exc.refusal.code), "raw": None if raw is None else raw.tolist()}


def raw_enrolment_encoding(data: bytes) -> np.ndarray | None:
    """The largest face found by enrol()'s detector, encoded as enrol() encodes it."""
    from proctoring import AnalysisSettings
    from proctoring.faces import detect_faces_thoroughly, encode_face
    from proctoring.imaging import decode_image

    rgb = decode_image(data)
    boxes = detect_faces_thoroughly(rgb)
    return encode_face(rgb, boxes[0], jitters=AnalysisSettings().enrol_jitters) if boxes else None


@functools.lru_cache(maxsize=4096)
def _raw_frame_encoding(path: str) -> np.ndarray | None:
    from proctoring.analysis import frame_encodings

    encodings = frame_encodings(Path(path).read_bytes())
    return encodings[0] if encodings else None


def judge_pair(second: str, enrolled: dict[str, object]) -> dict[str, object]:
    """The second image as a first exam frame against the first image's enrolment."""
    from proctoring import Enrolment, analyze_frame, encoder_version
    from proctoring.faces import face_distance

    data = Path(second).read_bytes()
    if enrolled["enrolment"] is not None:
        enrolment = Enrolment.from_dict(enrolled["enrolment"])  # type: ignore[arg-type]
    elif enrolled["raw"] is not None:
        # Refused: the frame is still judged against the raw encoding, for the raw distance.
        enrolment = Enrolment(person_id="raw", encodings=(tuple(enrolled["raw"]),), model_version=encoder_version())  # type: ignore[arg-type]
    else:
        return {"decision": None, "verdict": None, "raw": math.inf}
    analysis, _ = analyze_frame(data, enrolment=enrolment, frame_id=second, captured_at=0.0)
    raw = analysis.distance
    if raw is None:
        encoding = _raw_frame_encoding(second)
        raw = math.inf if encoding is None else face_distance(enrolment.known(), encoding)
    return {
        "decision": analysis.same_person if enrolled["enrolment"] is not None else None,
        "verdict": str(analysis.verdict),
        "raw": raw,
    }


def ten_fold_accuracy(distances: np.ndarray, same: np.ndarray, folds: int = FOLDS) -> float:
    """Mean accuracy over folds of equal size in file order, each judged at the threshold
    (midpoint between neighbouring distances) that is most accurate on the other folds."""
    size = len(distances) // folds
    finite = np.unique(distances[np.isfinite(distances)])
    candidates = np.concatenate([[finite[0] - 1e-6], (finite[:-1] + finite[1:]) / 2, [finite[-1] + 1e-6]])
    accuracies = []
    for k in range(folds):
        test = np.zeros(len(distances), bool)
        test[k * size : (k + 1) * size] = True
        train = ~test
        train[folds * size :] = False
        correct = [np.sum((distances[train] <= t) == same[train]) for t in candidates]
        best = candidates[int(np.argmax(correct))]
        accuracies.append(np.mean((distances[test] <= best) == same[test]))
    return float(np.mean(accuracies))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=Path, required=True, help="pair list in LFW's format")
    parser.add_argument("--images", type=Path, required=True, help="folder of <name>/<name>_<NNNN>.jpg")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from proctoring import AnalysisSettings

    pairs = read_pairs(args.pairs, args.images)
    if len(pairs) < FOLDS:
        raise SystemExit(f"need at least {FOLDS} pairs, got {len(pairs)}")
    start = time.perf_counter()
    firsts = sorted({str(p.first) for p in pairs})
    with ProcessPoolExecutor(PROCESSES, initializer=_init_worker) as pool:
        enrolled = dict(zip(firsts, pool.map(enrol_image, firsts, chunksize=8)))
        # Pairs sorted by second image, so a process meets an image again while it is cached.
        order = sorted(range(len(pairs)), key=lambda i: str(pairs[i].second))
        judged = list(pool.map(judge_pair, [str(pairs[i].second) for i in order],
                               [enrolled[str(pairs[i].first)] for i in order], chunksize=8))
    results: list[dict[str, object]] = [{}] * len(pairs)
    for i, r in zip(order, judged):
        results[i] = r
    elapsed = time.perf_counter() - start

    same = np.array([p.same for p in pairs])
    decision = [r["decision"] for r in results]
    decided = np.array([d is not None for d in decision])
    accepted = np.array([d is True for d in decision])
    raw = np.array([float(r["raw"]) for r in results])  # type: ignore[arg-type]

    refusals: dict[str, int] = {}
    for p in pairs:
        code = enrolled[str(p.first)]["refusal"]
        if code:
            refusals[str(code)] = refusals.get(str(code), 0) + 1
    frame_verdicts: dict[str, int] = {}
    for r, d in zip(results, decision):
        if d is None and r["verdict"] is not None:
            frame_verdicts[str(r["verdict"])] = frame_verdicts.get(str(r["verdict"]), 0) + 1
    print(f"{len(pairs)} pairs ({int(same.sum())} same, {int((~same).sum())} different), "
          f"{len(firsts)} images enrolled, {elapsed:.0f} s")
    print(f"undecided: enrolment refused {refusals}; frame verdicts without decision, enrolled or not {frame_verdicts}")
    fa, fr = int(np.sum(accepted & decided & ~same)), int(np.sum(~accepted & decided & same))
    print(f"at defaults: false accepts {fa}/{int(np.sum(decided & ~same))}, false rejects {fr}/{int(np.sum(decided & same))}")
    order_s = np.sort(raw[same])
    print("raw distances: same-person median %.3f, 98th percentile %.3f; different-person 0.1st percentile %.3f"
          % (np.median(order_s), np.percentile(order_s, 98), np.percentile(raw[~same], 0.1)))
    n_decided = int(decided.sum())
    print(json.dumps({
        "pairs": len(pairs),
        "accuracy": round(float(np.mean(accepted[decided] == same[decided])), 5) if n_decided else None,
        "cv_accuracy": round(ten_fold_accuracy(raw, same), 5),
        "far": round(fa / max(int(np.sum(decided & ~same)), 1), 5),
        "frr": round(fr / max(int(np.sum(decided & same)), 1), 5),
        "undecided": round(1 - n_decided / len(pairs), 5),
        "threshold": AnalysisSettings().tolerance,
        "ms_per_pair": round(elapsed * 1000 / len(pairs), 1),
    }))


if __name__ == "__main__":
    main()
