"""Health alerts: a fever or a symptom that a health worker must act on.

One list for every source (a quarantined resident's own report, a reading a
health worker entered, a gate's thermometer), so the community doctor has one
place to look at 4 a.m.; an alert stays open until someone closes it with an
action, and who closed it and when is kept.
"""
from __future__ import annotations

from .labels import Labelled


class AlertSource(Labelled):
    """Where the worrying reading came from."""

    HOME_REPORT = "home_report", "居民自报", "Resident's report"  # on their phone
    STAFF_REPORT = "staff_report", "工作人员代报", "Entered by staff"  # phone, video call
    GATE = "gate", "卡口测温", "Gate thermometer"  # a gate's thermometer, with the scan


class AlertKind(Labelled):
    FEVER = "fever", "发热", "Fever"
    SYMPTOM = "symptom", "症状", "Symptom"


class AlertAction(Labelled):
    """How an alert was closed."""

    REMEASURED = "remeasured", "复测正常", "Re-measured: normal"
    DOCTOR_CALLED = "doctor_called", "已通知社区医生", "Community doctor called"
    HOSPITAL = "hospital", "已送医", "Sent to hospital"
    CENTRALISED = "centralised", "转集中隔离", "Moved to centralised quarantine"
    FALSE_READING = "false_reading", "测量有误", "Faulty reading"
