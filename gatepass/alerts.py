"""Health alerts: a fever or a symptom that a health worker must act on.

One list for every source (a quarantined resident's own report, a reading a
health worker entered, a gate's thermometer), so the community doctor has one
place to look at 4 a.m.; an alert stays open until someone closes it with an
action, and who closed it and when is kept.
"""
from __future__ import annotations

from enum import StrEnum


class AlertSource(StrEnum):
    """Where the worrying reading came from."""

    HOME_REPORT = "home_report"  # the resident reported it on their phone
    STAFF_REPORT = "staff_report"  # a health worker entered it (phone, video call)
    GATE = "gate"  # a gate's thermometer, with the scan

    @property
    def label(self) -> str:
        return _SOURCE_LABELS[self][0]

    @property
    def label_en(self) -> str:
        return _SOURCE_LABELS[self][1]


class AlertKind(StrEnum):
    FEVER = "fever"
    SYMPTOM = "symptom"

    @property
    def label(self) -> str:
        return {"fever": "发热", "symptom": "症状"}[self.value]

    @property
    def label_en(self) -> str:
        return {"fever": "Fever", "symptom": "Symptom"}[self.value]


class AlertAction(StrEnum):
    """How an alert was closed."""

    REMEASURED = "remeasured"  # 复测正常
    DOCTOR_CALLED = "doctor_called"  # 已通知社区医生
    HOSPITAL = "hospital"  # 已送医
    CENTRALISED = "centralised"  # 转集中隔离
    FALSE_READING = "false_reading"  # 误报（测量有误）

    @property
    def label(self) -> str:
        return _ACTION_LABELS[self][0]

    @property
    def label_en(self) -> str:
        return _ACTION_LABELS[self][1]


_SOURCE_LABELS = {
    AlertSource.HOME_REPORT: ("居民自报", "Resident's report"),
    AlertSource.STAFF_REPORT: ("工作人员代报", "Entered by staff"),
    AlertSource.GATE: ("卡口测温", "Gate thermometer"),
}
_ACTION_LABELS = {
    AlertAction.REMEASURED: ("复测正常", "Re-measured: normal"),
    AlertAction.DOCTOR_CALLED: ("已通知社区医生", "Community doctor called"),
    AlertAction.HOSPITAL: ("已送医", "Sent to hospital"),
    AlertAction.CENTRALISED: ("转集中隔离", "Moved to centralised quarantine"),
    AlertAction.FALSE_READING: ("测量有误", "Faulty reading"),
}
