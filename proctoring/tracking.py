"""Per-candidate tracking state carried from one frame to the next.

It lets a frame skip the expensive identity encoding when the same single face is still
where it was at the last verification, less than ``reverify_seconds`` ago. It is small
and serialisable so it can live in Redis between frames analysed on different workers.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass

from proctoring.errors import JobFormatError
from proctoring.faces import FaceBox
from proctoring.scene import scene_change
from proctoring.settings import AnalysisSettings


class VerifyReason(enum.StrEnum):
    FIRST = "first"
    DUE = "due"
    FACE_COUNT_CHANGED = "face_count_changed"
    MOVED = "moved"
    LAST_MISMATCH = "last_mismatch"
    SCENE_CUT = "scene_cut"
    # The caller asked for a check on this frame (FrameJob.verify_identity: the pre-exam check).
    ASKED = "asked"


@dataclass(frozen=True, slots=True, kw_only=True)
class TrackingState:
    verified_at: float | None = None
    verified_box: FaceBox | None = None
    distance: float | None = None
    matched: bool | None = None
    # Faces seen in the previous frame; 0 also after a poor image, so a face that
    # reappears from behind a covered or dark camera is verified at once.
    face_count: int = 0
    last_box: FaceBox | None = None
    scanned_at: float | None = None  # capture time of the last thorough scene scan
    # The previous face frame's scene signature (proctoring.scene), to see a cut.
    scene: tuple[int, ...] | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "verified_at": self.verified_at,
            "verified_box": self.verified_box.to_list() if self.verified_box else None,
            "distance": self.distance,
            "matched": self.matched,
            "face_count": self.face_count,
            "last_box": self.last_box.to_list() if self.last_box else None,
            "scanned_at": self.scanned_at,
            "scene": list(self.scene) if self.scene is not None else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> TrackingState:
        try:
            vb, lb = data.get("verified_box"), data.get("last_box")
            return cls(
                verified_at=None if data.get("verified_at") is None else float(data["verified_at"]),  # type: ignore[arg-type]
                verified_box=FaceBox.from_seq(vb) if vb else None,  # type: ignore[arg-type]
                distance=None if data.get("distance") is None else float(data["distance"]),  # type: ignore[arg-type]
                matched=None if data.get("matched") is None else bool(data["matched"]),
                face_count=int(data.get("face_count", 0)),  # type: ignore[call-overload]
                last_box=FaceBox.from_seq(lb) if lb else None,  # type: ignore[arg-type]
                scanned_at=None if data.get("scanned_at") is None else float(data["scanned_at"]),  # type: ignore[arg-type]
                scene=None if data.get("scene") is None else tuple(int(v) for v in data["scene"]),  # type: ignore[attr-defined]
            )
        except (TypeError, ValueError) as exc:
            raise JobFormatError(f"bad tracking state: {exc}") from exc

    def to_bytes(self) -> bytes:
        return json.dumps(self.to_dict(), separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> TrackingState:
        try:
            return cls.from_dict(json.loads(data))
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError) as exc:
            raise JobFormatError(f"bad tracking state: {exc}") from exc


def verification_reason(
    state: TrackingState, box: FaceBox, *, now: float, settings: AnalysisSettings,
    scene: tuple[int, ...] | None = None, asked: bool = False,
) -> VerifyReason | None:
    """Why the single face ``box`` seen at ``now`` (with scene signature ``scene``) must be
    encoded, or None to reuse: a decision is carried only along an unbroken track."""
    if asked:
        return VerifyReason.ASKED
    if state.verified_at is None or state.verified_box is None or state.matched is None:
        return VerifyReason.FIRST
    if not state.matched:
        return VerifyReason.LAST_MISMATCH
    if state.face_count != 1:
        return VerifyReason.FACE_COUNT_CHANGED
    # Small slack so frames sent every reverify/2 seconds with network jitter still
    # verify every second frame instead of drifting to every third.
    if now - state.verified_at >= settings.reverify_seconds - 1.0:
        return VerifyReason.DUE
    # Compare with both the verified position and the previous frame, so a slow drift
    # across several frames also counts as a material move.
    for ref in (state.verified_box, state.last_box):
        if ref is not None and ref.moved_materially(
            box, move_ratio=settings.move_ratio, size_ratio=settings.size_change_ratio
        ):
            return VerifyReason.MOVED
    # The box can stay while the picture changes (another person, another feed): a cut
    # measured on the frame, or a frame without a signature to compare, breaks the track.
    if scene is None or state.scene is None or scene_change(state.scene, scene) > settings.scene_cut_change:
        return VerifyReason.SCENE_CUT
    return None
