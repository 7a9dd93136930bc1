"""Per-schedule proctoring rules: what each finding does, the frame interval, and the words for each
event; plain data and functions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from proctoring import Consequence, PolicySettings, ViolationKind

# Browser-reported findings the schedule can also act on, beside the library's frame findings.
CAMERA_LOST = "camera_lost"
LEFT_PAGE = "left_page"
COPY_PASTE = "copy_paste"
KINDS = tuple(str(k) for k in ViolationKind) + (CAMERA_LOST, LEFT_PAGE, COPY_PASTE)
KIND_WORDS = {
    "no_face": "画面中无人", "several_faces": "画面中多人", "another_person": "疑似他人替考", "poor_image": "画面无法识别",
    CAMERA_LOST: "摄像头中断", LEFT_PAGE: "离开考试页面", COPY_PASTE: "复制粘贴",
}
CONSEQUENCE_WORDS = {"flag": "标记待复核", "warn": "提醒考生", "end_attempt": "结束考试"}

# Browser events the page reports, their words and severity (0 info .. 2 warning), and which
# finding (if any) each counts as.
BROWSER_EVENTS: dict[str, tuple[str, int, str | None]] = {
    "heartbeat": ("在线", 0, None),
    "page_hidden": ("页面被隐藏或切换标签页", 2, LEFT_PAGE),
    "page_visible": ("回到考试页面", 0, None),
    "focus_lost": ("窗口失去焦点", 1, None),
    "focus_back": ("窗口恢复焦点", 0, None),
    "fullscreen_left": ("退出全屏", 2, LEFT_PAGE),
    "copy": ("复制", 2, COPY_PASTE),
    "paste": ("粘贴", 2, COPY_PASTE),
    "camera_stopped": ("摄像头已停止", 2, CAMERA_LOST),
    "camera_error": ("无法使用摄像头", 2, CAMERA_LOST),
    "offline": ("网络断开", 1, None),
    "online": ("网络恢复", 0, None),
}
DEFAULT_FRAME_SECONDS = 15
MIN_FRAME_SECONDS = 5
MAX_FRAME_SECONDS = 120


@dataclass(frozen=True, slots=True)
class ScheduleRules:
    frame_seconds: int
    actions: Mapping[str, str]

    def consequence(self, kind: str) -> str:
        return self.actions.get(kind, "flag")

    def policy(self) -> PolicySettings:
        return PolicySettings(consequences={ViolationKind(k): Consequence(v) for k, v in self.actions.items()
                                            if k in ViolationKind._value2member_map_})

    def to_dict(self) -> dict[str, Any]:
        return {"frame_seconds": self.frame_seconds, "actions": dict(self.actions)}


def schedule_rules(violation_policy: Mapping[str, Any] | None, body_id: int | None = None) -> ScheduleRules:
    """The schedule's stored ``violation_policy`` (anything unknown ignored: flag for review).

    A schedule the admin made for every body keeps each body's own rules under ``bodies``: a body
    sets the rules for its own candidates, never for another body's. ``body_id`` is the candidate's
    (or the staff member's) body; without its own rules the schedule's are used."""
    raw = dict(violation_policy or {})
    own = (raw.get("bodies") or {}).get(str(body_id)) if body_id is not None and isinstance(raw.get("bodies"), dict) else None
    if isinstance(own, dict):
        raw = own
    seconds = raw.get("frame_seconds")
    if type(seconds) is not int or not MIN_FRAME_SECONDS <= seconds <= MAX_FRAME_SECONDS:
        seconds = DEFAULT_FRAME_SECONDS
    actions = raw.get("actions") if isinstance(raw.get("actions"), dict) else {}
    clean = {k: v for k, v in actions.items() if k in KINDS and v in CONSEQUENCE_WORDS}
    return ScheduleRules(seconds, clean)


def with_rules(violation_policy: Mapping[str, Any] | None, rules: ScheduleRules, body_id: int | None) -> dict[str, Any]:
    """The policy with `rules` stored for one body (``body_id``) or, without one, for the whole schedule."""
    policy = dict(violation_policy or {})
    if body_id is None:
        policy.update(rules.to_dict())
        return policy
    bodies = dict(policy.get("bodies") or {}) if isinstance(policy.get("bodies"), dict) else {}
    bodies[str(body_id)] = rules.to_dict()
    policy["bodies"] = bodies
    return policy


def severity_rank(kind: str, consequence: str) -> int:
    """Order of the alert feed: identity first, then the rest; ending beats warning beats flag."""
    base = {"another_person": 30, "several_faces": 25, CAMERA_LOST: 20, "no_face": 15, LEFT_PAGE: 10,
            COPY_PASTE: 8, "poor_image": 5}.get(kind, 1)
    return base + {"end_attempt": 3, "warn": 2, "flag": 1}.get(consequence, 0)
