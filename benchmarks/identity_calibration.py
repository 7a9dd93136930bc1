"""Calibrating the identity threshold on LFW View 1 DevTest, and measuring what moves it.

Run: .venv/bin/python benchmarks/identity_calibration.py [--images DIR] [--cache FILE.npz]
(defaults: ../shared/faces/lfw_view1_devtest; the cache keeps the per-image encodings so a
second run only recomputes the figures; about 6 minutes of 2 processes without it).

Every image is encoded once, from the face enrol()'s detector finds (on LFW's 250x250
photos a first frame gets the same detection), with the views of its face chip kept
apart, so one run compares:
- why registration photos are refused (several faces: how large and where the others are);
- enrolment views averaged (1 = plain chip, 2 = + mirror image, more = + fixed small
  perturbations) and frame views (2 = test-time augmentation with the mirror image,
  always or only when the plain view lands near the threshold);
- enrolling from several photos of the person (registration photo + k live captures):
  nearest reference, mean of the distances, or distance to the mean encoding, with the
  threshold for FAR 0.1% at each k;
- the policy's decision (median distance over 3 frames) against a single frame.
Rates are per ordered (enrolment image, frame image) combination: every same-person
combination for FRR and every different-person combination (about 2.4 million) for FAR.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

warnings.simplefilter("ignore")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PROCESSES = 2
ENROL_VIEWS = 4
FRAME_VIEWS = 2
MAX_FACES = 4
DEFAULT_DIR = (Path(os.environ.get("DINGKAO_SHARED_DIR", Path(__file__).resolve().parents[1] / ".." / "shared"))
               / "faces" / "lfw_view1_devtest")


def _init_worker() -> None:
    from proctoring import limit_native_threads

    limit_native_threads()


def _views(rgb: np.ndarray, box, count: int) -> np.ndarray:
    from proctoring.faces import _models, chip_variants, face_chip

    chips = chip_variants(face_chip(rgb, box), count)
    return _models().encoder(chips)


def encode_image(path: str) -> dict[str, object]:
    """Both roles of one image: enrolment (with its refusal) and first frame."""
    from proctoring import AnalysisSettings
    from proctoring.enrolment import _check
    from proctoring.faces import detect_faces_thoroughly
    from proctoring.imaging import decode_image, face_quality, to_gray

    settings = AnalysisSettings()
    rgb = decode_image(Path(path).read_bytes())
    gray = to_gray(rgb)
    nan = np.full(128, np.nan)
    out: dict[str, object] = {}
    check = _check(rgb, settings)
    out["enrol_refusal"] = "" if check.refusal is None else str(check.refusal.code)
    # The detector's faces, largest first (the check may have picked another main face).
    faces = detect_faces_thoroughly(rgb)
    boxes = np.zeros((MAX_FACES, 4))
    for i, f in enumerate(faces[:MAX_FACES]):
        boxes[i] = f.as_tuple()
    out["boxes"] = boxes
    out["shape"] = np.array(rgb.shape[:2])
    if faces:
        box = faces[0]
        out["enrol_views"] = _views(rgb, box, ENROL_VIEWS)
        q = face_quality(gray, box.as_tuple(), settings=settings)
        out["quality"] = np.array([q.brightness, q.sharpness, q.saturated])
    else:
        out["enrol_views"] = np.tile(nan, (ENROL_VIEWS, 1))
        out["quality"] = np.full(3, np.nan)
    out["frame_views"] = out["enrol_views"][:FRAME_VIEWS]
    return out


def collect(images: Path, cache: Path | None) -> tuple[list[str], dict[str, np.ndarray]]:
    paths = sorted(str(p) for p in images.glob("*/*.jpg"))
    if not paths:
        raise SystemExit(f"no images in {images} (set DINGKAO_SHARED_DIR or --images)")
    if cache is not None and cache.is_file():
        data = np.load(cache, allow_pickle=False)
        if list(data["paths"]) == paths:
            return paths, {k: data[k] for k in data.files}
    with ProcessPoolExecutor(PROCESSES, initializer=_init_worker) as pool:
        rows = list(pool.map(encode_image, paths, chunksize=4))
    arrays = {k: np.asarray([r[k] for r in rows]) for k in rows[0]}
    arrays["paths"] = np.asarray(paths)
    if cache is not None:
        np.savez_compressed(cache, **arrays)
    return paths, arrays


def _unit_mean(views: np.ndarray, count: int) -> np.ndarray:
    return views[:, :count].mean(axis=1)


def distances(enrol: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """All enrolment x frame distances (NaN encodings give NaN)."""
    sq = (enrol**2).sum(1)[:, None] + (frame**2).sum(1)[None, :] - 2 * enrol @ frame.T
    return np.sqrt(np.maximum(sq, 0))


def threshold_at(diff: np.ndarray, far: float) -> float:
    """The largest threshold with at most ``far`` of ``diff`` accepted."""
    diff = np.sort(np.where(np.isnan(diff), np.inf, diff))
    return float(diff[int(far * len(diff))] - 1e-9)


def roc_line(same: np.ndarray, diff: np.ndarray, *, tolerance: float, label: str) -> str:
    """FRR at the FAR targets, and both rates at ``tolerance``. Missing faces are rejects."""
    same = np.where(np.isnan(same), np.inf, same)
    diff = np.where(np.isnan(diff), np.inf, diff)
    parts = [f"{label:<44}"]
    for far in (0.001, 0.0005):
        t = threshold_at(diff, far)
        parts.append(f"FAR {far * 100:.2g}%: t {t:.4f} FRR {np.mean(same > t) * 100:5.2f}%")
    parts.append(f"at {tolerance}: FRR {np.mean(same > tolerance) * 100:5.2f}% FAR {np.mean(diff <= tolerance) * 100:.4f}%")
    return " | ".join(parts)


def refusals(a: dict[str, np.ndarray]) -> None:
    codes = {str(c): int(np.sum(a["enrol_refusal"] == c)) for c in set(a["enrol_refusal"]) if c}
    print(f"enrolment refusals {codes}")
    several = a["enrol_refusal"] == "several_faces"
    if not several.any():
        return
    boxes, shape = a["boxes"][several], a["shape"][several]
    width = boxes[:, :, 1] - boxes[:, :, 3]
    cx = (boxes[:, :, 1] + boxes[:, :, 3]) / 2 / shape[:, 1:2]
    cy = (boxes[:, :, 0] + boxes[:, :, 2]) / 2 / shape[:, 0:1]
    off = np.hypot(cx - 0.5, cy - 0.5)
    ratio = width[:, 1] / width[:, 0]
    print("  several faces: second / main width percentiles 10/50/90: "
          + " ".join(f"{np.percentile(ratio, q):.2f}" for q in (10, 50, 90))
          + "; main face centre's distance from the photo's centre (share of the side) 50/90/max: "
          + " ".join(f"{np.percentile(off[:, 0], q):.2f}" for q in (50, 90, 100))
          + "; second face's 10/50: " + " ".join(f"{np.percentile(off[:, 1], q):.2f}" for q in (10, 50)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, default=DEFAULT_DIR / "images")
    parser.add_argument("--cache", type=Path)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from proctoring import AnalysisSettings

    settings = AnalysisSettings()
    tol = settings.tolerance
    paths, a = collect(args.images.resolve(), args.cache)
    names = np.array([Path(p).parent.name for p in paths])
    n = len(paths)
    same_mask = names[:, None] == names[None, :]
    np.fill_diagonal(same_mask, False)
    diff_mask = names[:, None] != names[None, :]
    print(f"{n} images, {len(set(names))} people: {int(same_mask.sum())} same-person and "
          f"{int(diff_mask.sum())} different-person ordered combinations")
    refusals(a)

    print("1) views averaged (all combinations, every image, refusals ignored)")
    for ev, fv in ((1, 1), (2, 1), (4, 1), (2, 2), (4, 2)):
        d = distances(_unit_mean(a["enrol_views"], ev), _unit_mean(a["frame_views"], fv))
        print("  " + roc_line(d[same_mask], d[diff_mask], tolerance=tol, label=f"enrolment {ev} views, frame {fv}"))
    ev = settings.enrol_jitters
    enrol = _unit_mean(a["enrol_views"], ev)
    frame = _unit_mean(a["frame_views"], 1)
    d1 = distances(enrol, frame)
    d2 = distances(enrol, _unit_mean(a["frame_views"], 2))
    for band in (0.02, settings.mirror_band, 0.05):
        near = np.abs(d1 - tol) <= band
        d = np.where(near, d2, d1)
        share = np.mean(near[same_mask]) * 100
        print("  " + roc_line(d[same_mask], d[diff_mask], tolerance=tol,
                              label=f"enrol {ev}, mirror within {band} ({share:.1f}% gen.)"))
    multi_capture(names, enrol, frame, d1, tol)
    # The product's frame distance: the mirror second look near the threshold.
    product = np.where(np.abs(d1 - tol) <= settings.mirror_band, d2, d1)
    policy_decisions(names, product, tol)


def multi_capture(names: np.ndarray, enrol: np.ndarray, frame: np.ndarray, d: np.ndarray, tol: float) -> None:
    """Registration photo r plus k more captures of the same person (the next photos of
    that person), judged on that person's other photos and on everyone else's."""
    by_name: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        by_name.setdefault(str(name), []).append(i)
    from proctoring.enrolment import REFERENCE_SCALE

    print("2) enrolment from the registration photo plus k captures (people with >= k + 2 photos; "
          "frames of 1 view)")
    for k in (1, 2, 3, 4):
        rules = ("one", "nearest", "mean distance", "mean encoding", "product (mean / REFERENCE_SCALE)")
        same: dict[str, list[np.ndarray]] = {r: [] for r in rules}
        diff: dict[str, list[np.ndarray]] = {r: [] for r in rules}
        people = [idx for idx in by_name.values() if len(idx) >= k + 2]
        for idx in people:
            for j, r in enumerate(idx):
                refs = [r] + [idx[(j + m) % len(idx)] for m in range(1, k + 1)]
                others = np.array([i for i in idx if i not in refs])
                strangers = names != names[r]
                rows = d[refs]
                centre = np.nanmean(enrol[refs], axis=0)
                values = {
                    "one": rows[0], "nearest": np.nanmin(rows, axis=0), "mean distance": rows.mean(axis=0),
                    "mean encoding": np.linalg.norm(frame - centre, axis=1),
                }
                values["product (mean / REFERENCE_SCALE)"] = (
                    values["mean encoding"] / REFERENCE_SCALE[min(k + 1, len(REFERENCE_SCALE)) - 1])
                for rule, row in values.items():
                    same[rule].append(row[others])
                    diff[rule].append(row[strangers])
        print(f"  k={k} ({len(people)} people)")
        for rule in rules:
            print("    " + roc_line(np.concatenate(same[rule]), np.concatenate(diff[rule]), tolerance=tol,
                                    label=f"{rule}"))


def policy_decisions(names: np.ndarray, d: np.ndarray, tol: float, frames: int = 3) -> None:
    """The policy's decision: the median distance of ``frames`` frames (other photos of one
    person) against an enrolment, compared with one frame."""
    by_name: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        by_name.setdefault(str(name), []).append(i)
    groups = [idx for idx in by_name.values() if len(idx) >= frames]
    same, diff = [], []
    for idx in (g for g in groups if len(g) > frames):
        for r in idx:
            rest = [i for i in idx if i != r]
            for combo in itertools.islice(itertools.combinations(rest, frames), 20):
                same.append(np.median(np.nan_to_num(d[r, list(combo)], nan=np.inf)))
    firsts = [idx[:frames] for idx in groups]
    for r in range(len(names)):
        for combo in firsts:
            if names[combo[0]] != names[r]:
                diff.append(np.median(np.nan_to_num(d[r, combo], nan=np.inf)))
    print(f"3) policy decision: median distance over {frames} frames (other photos of the person; "
          f"{len(same)} genuine and {len(diff)} impostor decisions)")
    print("  " + roc_line(np.array(same), np.array(diff), tolerance=tol, label=f"median of {frames} frames"))


if __name__ == "__main__":
    main()
