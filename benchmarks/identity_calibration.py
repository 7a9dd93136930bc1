"""Calibrating the identity threshold on LFW View 1 DevTest, and measuring what moves it.

Run: .venv/bin/python benchmarks/identity_calibration.py [--images DIR] [--pairs PAIRS.txt]
     [--cache FILE.npz]
(defaults: ../shared/faces/lfw_view1_devtest; the cache keeps the per-image encodings so a
second run only recomputes the figures; about 4 minutes of 2 processes without it).

Every image is encoded once, from the face enrol()'s detector finds (on LFW's 250x250
photos a first frame gets the same detection), with the views of its face chip kept
apart, so one run compares:
- enrolment views averaged (1 = plain chip, 2 = + mirror image)
  and frame views (1 or 2 = cheap test-time augmentation with the mirror image);
- enrolling from several photos of the person (registration photo + live captures),
  nearest reference or their mean;
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
ENROL_VIEWS = 2
FRAME_VIEWS = 2
DEFAULT_DIR = (Path(os.environ.get("DINGKAO_SHARED_DIR", Path(__file__).resolve().parents[1] / ".." / "shared"))
               / "faces" / "lfw_view1_devtest")


def _init_worker() -> None:
    from proctoring import limit_native_threads

    limit_native_threads()


def _views(rgb: np.ndarray, box, count: int) -> np.ndarray:
    from proctoring.faces import _models, chip_variants, face_chip

    chips = chip_variants(face_chip(rgb, box), count)
    return np.asarray([list(d) for d in _models().encoder.compute_face_descriptor(chips)])  # type: ignore[attr-defined]


def encode_image(path: str) -> dict[str, object]:
    """Both roles of one image: enrolment (with its refusal) and first frame (with its verdict)."""
    import cv2

    from proctoring import AnalysisSettings
    from proctoring.enrolment import _check
    from proctoring.imaging import decode_image, face_quality, to_gray

    settings = AnalysisSettings()
    data = Path(path).read_bytes()
    rgb = decode_image(data)
    gray = to_gray(rgb)
    nan = np.full(128, np.nan)
    out: dict[str, object] = {}
    check = _check(rgb, settings)
    out["enrol_refusal"] = "" if check.refusal is None else str(check.refusal.code)
    out["enrol_faces"] = np.array([f.width for f in check.faces][:4] + [0] * (4 - min(len(check.faces), 4)))
    if check.faces:
        box = check.faces[0]
        out["enrol_views"] = _views(rgb, box, ENROL_VIEWS)
        out["enrol_sharpness"] = face_quality(gray, box.as_tuple(), settings=settings).sharpness
        crop = gray[max(box.top, 0) : box.bottom, max(box.left, 0) : box.right]
        out["enrol_sharpness96"] = float(cv2.Laplacian(cv2.resize(crop, (96, 96), interpolation=cv2.INTER_AREA),
                                                       cv2.CV_64F).var())
    else:
        out["enrol_views"] = np.tile(nan, (ENROL_VIEWS, 1))
        out["enrol_sharpness"] = out["enrol_sharpness96"] = np.nan
    # The frame: LFW's 250x250 photos are small enough for analyze_frame() to run the same
    # thorough detection on a first frame, so the face chip is the same (not re-detected).
    out["frame_faces"] = len(check.faces)
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


def roc_line(same: np.ndarray, diff: np.ndarray, *, tolerance: float, label: str) -> str:
    """FRR at the FAR targets, and both rates at ``tolerance``. Missing faces are rejects."""
    same = np.where(np.isnan(same), np.inf, same)
    diff = np.sort(np.where(np.isnan(diff), np.inf, diff))
    parts = [f"{label:<44}"]
    for far in (0.001, 0.0008, 0.0005):
        k = int(far * len(diff))  # at most k accepts: threshold just below the (k+1)-th smallest
        t = diff[k] - 1e-9
        parts.append(f"FAR {far * 100:.2g}%: t {t:.4f} FRR {np.mean(same > t) * 100:5.2f}%")
    parts.append(f"at {tolerance}: FRR {np.mean(same > tolerance) * 100:5.2f}% FAR {np.mean(diff <= tolerance) * 100:.4f}%")
    return " | ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, default=DEFAULT_DIR / "images")
    parser.add_argument("--cache", type=Path)
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from proctoring import AnalysisSettings

    tol = AnalysisSettings().tolerance
    paths, a = collect(args.images.resolve(), args.cache)
    names = np.array([Path(p).parent.name for p in paths])
    n = len(paths)
    same_mask = names[:, None] == names[None, :]
    np.fill_diagonal(same_mask, False)
    diff_mask = names[:, None] != names[None, :]
    print(f"{n} images, {len(set(names))} people: {int(same_mask.sum())} same-person and "
          f"{int(diff_mask.sum())} different-person ordered combinations")

    refusals = {str(c): int(np.sum(a["enrol_refusal"] == c)) for c in set(a["enrol_refusal"]) if c}
    print(f"enrolment refusals {refusals}; photos with several faces {int(np.sum(a['frame_faces'] > 1))}")
    widths = a["enrol_faces"]
    several = widths[:, 1] > 0
    ratio = widths[several, 1] / widths[several, 0]
    print("registration photos with several faces: second face / main face width, percentiles 50/90/100: "
          + " ".join(f"{np.percentile(ratio, q):.2f}" for q in (50, 90, 100)) if several.any() else "")

    sharp, sharp96 = a["enrol_sharpness"], a["enrol_sharpness96"]
    d1 = distances(_unit_mean(a["enrol_views"], 1), _unit_mean(a["frame_views"], 1))
    genuine_worst = np.nanmax(np.where(same_mask, d1, np.nan), axis=1)
    for label, values, cuts in (("64 px / contrast (now)", sharp, (4, 5, 6)), ("96 px (before)", sharp96, (20, 30, 40))):
        parts = []
        for cut in cuts:
            low = values < cut
            parts.append(f"< {cut}: {int(low.sum())} images, their farthest same-person distance median "
                         f"{np.nanmedian(genuine_worst[low]) if low.any() else float('nan'):.3f}")
        print(f"face sharpness at {label}: " + "; ".join(parts)
              + f" (all images: {np.nanmedian(genuine_worst):.3f})")

    print("1) views averaged (all combinations, every image, refusals ignored)")
    for ev, fv in ((1, 1), (2, 1), (2, 2)):
        d = distances(_unit_mean(a["enrol_views"], ev), _unit_mean(a["frame_views"], fv))
        print("  " + roc_line(d[same_mask], d[diff_mask], tolerance=tol, label=f"enrolment {ev} views, frame {fv}"))

    enrol = _unit_mean(a["enrol_views"], ENROL_VIEWS)
    frame = _unit_mean(a["frame_views"], 1)
    d = distances(enrol, frame)
    multi_capture(names, enrol, frame, d, tol)
    policy_decisions(names, d, tol)


def multi_capture(names: np.ndarray, enrol: np.ndarray, frame: np.ndarray, d: np.ndarray, tol: float) -> None:
    """Registration photo r plus one more capture c of the same person (the next photo),
    judged on that person's other photos and on everyone else's."""
    by_name: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        by_name.setdefault(str(name), []).append(i)
    same = {"one": [], "nearest": [], "mean": []}
    diff = {"one": [], "nearest": [], "mean": []}
    for idx in by_name.values():
        if len(idx) < 3:
            continue
        for k, r in enumerate(idx):
            c = idx[(k + 1) % len(idx)]
            others = np.array([i for i in idx if i not in (r, c)])
            strangers = names != names[r]
            mean = np.linalg.norm(frame - (enrol[r] + enrol[c]) / 2, axis=1)
            for key, row in (("one", d[r]), ("nearest", np.fmin(d[r], d[c])), ("mean", mean)):
                same[key].append(row[others])
                diff[key].append(row[strangers])
    print(f"2) enrolment from the registration photo plus one capture (people with >= 3 photos)")
    for key, label in (("one", "registration photo only"), ("nearest", "+ capture, nearest reference"),
                       ("mean", "+ capture, mean encoding")):
        print("  " + roc_line(np.concatenate(same[key]), np.concatenate(diff[key]), tolerance=tol, label=label))


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
