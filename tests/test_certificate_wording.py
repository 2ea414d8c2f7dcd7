"""What a health certificate says, per outcome: real dates and days, how the stay ended, and the
alerts during it (issue 15 §3). Read back from the PDF with pdftotext, as a reader would.

Time is frozen at fixed instants (a stay starting 2026-11-01 09:00 Beijing), never the wall clock.
"""
from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time

from app.extensions import db
from app.health.models import QuarantineEpisode
from app.health.readings import HealthAlert
from helpers import csrf_token, login, pdf_text

T0 = datetime(2026, 11, 1, 1, 0, tzinfo=timezone.utc)  # 09:00 in the community


@pytest.fixture(autouse=True)
def long_sessions(app):
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(days=120)


class Stay:
    """One person's stay driven through the health pages at frozen instants."""

    def __init__(self, app, client, make, name="欧阳锋"):
        self.app, self.client = app, client
        person = make.person(name=name)
        with freeze_time(T0):
            login(client, make, "health")
            self.token = csrf_token(client, "/office/quarantine")
            client.post(f"/office/quarantine/{person}/start", data={"csrf_token": self.token, "days": 14})
        with app.app_context():
            self.ep = db.session.scalar(db.select(QuarantineEpisode.id).where(
                QuarantineEpisode.person_id == person))

    def report(self, at: datetime, value: str) -> None:
        with freeze_time(at):
            self.client.post(f"/office/quarantine/episodes/{self.ep}/report",
                             data={"csrf_token": self.token, "value": value})

    def close_alerts(self, at: datetime) -> None:
        with self.app.app_context():
            ids = db.session.scalars(db.select(HealthAlert.id).where(HealthAlert.closed_at.is_(None))).all()
        with freeze_time(at):
            for alert_id in ids:
                self.client.post(f"/office/alerts/{alert_id}/close",
                                 data={"csrf_token": self.token, "action": "doctor_called"})

    def end(self, at: datetime, outcome: str, reason: str = "") -> None:
        with freeze_time(at):
            r = self.client.post(f"/office/quarantine/episodes/{self.ep}/end",
                                 data={"csrf_token": self.token, "outcome": outcome, "reason": reason})
        assert r.status_code == 302

    def certificate(self, runner, tmp_path, at: datetime):
        """(exit code, output, the PDF's text in one line or None)."""
        out = tmp_path / f"cert-{self.ep}.pdf"
        with freeze_time(at):
            r = runner.invoke(args=["health", "certificate", str(self.ep), "-o", str(out)])
        text = pdf_text(out).replace("\n", "") if out.exists() else None
        return r.exit_code, r.output, text


def test_a_completed_clean_stay_states_its_dates_and_fourteen_days(app, client, make, runner, tmp_path):
    stay = Stay(app, client, make)
    stay.end(T0 + timedelta(days=14, hours=1), "completed")
    code, output, text = stay.certificate(runner, tmp_path, T0 + timedelta(days=14, hours=2))
    assert code == 0, output
    assert "自 2026-11-01 至 2026-11-15 在本社区居家隔离（14 天），期满解除" in text
    assert "隔离期间未出现发热（≥37.3℃）或症状提醒" in text
    assert "2026-11-01 — 2026-11-15（14 天）" in text
    assert "健康状况良好" not in text


def test_a_stay_ended_early_on_day_one_after_a_fever_says_exactly_that(app, client, make, runner, tmp_path):
    stay = Stay(app, client, make)
    stay.report(T0 + timedelta(hours=3), "38.2")
    stay.end(T0 + timedelta(hours=5), "ended_early", "经区疾控同意转居家观察")
    # the fever alert is still open: no certificate until health staff have dealt with it
    code, output, text = stay.certificate(runner, tmp_path, T0 + timedelta(hours=6))
    assert code == 1 and "提醒尚未处理" in output and text is None
    stay.close_alerts(T0 + timedelta(hours=7))
    code, output, text = stay.certificate(runner, tmp_path, T0 + timedelta(hours=8))
    assert code == 0, output
    assert ("自 2026-11-01 起在本社区居家隔离（计划 14 天），于 2026-11-01（第 1 天，实际不足 1 天）"
            "提前解除，原因：经区疾控同意转居家观察。") in text
    assert "隔离期间出现发热或症状提醒 1 次，最高体温 38.2℃，均已由社区医生处理。" in text
    assert "（0 天）" not in text and "健康状况良好" not in text and "完成居家隔离" not in text


def test_a_completed_stay_with_a_fever_during_it_says_so(app, client, make, runner, tmp_path):
    stay = Stay(app, client, make)
    stay.report(T0 + timedelta(days=3), "37.9")
    stay.report(T0 + timedelta(days=3, hours=2), "38.4")
    stay.close_alerts(T0 + timedelta(days=3, hours=4))
    stay.end(T0 + timedelta(days=15, hours=2), "completed")  # ended on day 16
    code, output, text = stay.certificate(runner, tmp_path, T0 + timedelta(days=15, hours=3))
    assert code == 0, output
    assert "自 2026-11-01 至 2026-11-16 在本社区居家隔离（15 天），期满解除" in text
    assert "出现发热或症状提醒 2 次，最高体温 38.4℃" in text and "未出现发热" not in text


@pytest.mark.parametrize("outcome", ["centralised", "hospital", "left"])
def test_transfer_hospital_or_leaving_is_refused_a_certificate(app, client, make, runner, tmp_path, outcome):
    stay = Stay(app, client, make)
    stay.end(T0 + timedelta(days=2), outcome)
    code, output, text = stay.certificate(runner, tmp_path, T0 + timedelta(days=2, hours=1))
    assert code == 1 and "不能开具健康证明" in output and text is None


def test_the_public_check_page_shows_the_same_statement(app, client, make, runner, tmp_path):
    from test_registration import pdf_qr_texts
    from urllib.parse import urlsplit
    stay = Stay(app, client, make)
    stay.end(T0 + timedelta(hours=2), "ended_early", "误登记")
    at = T0 + timedelta(hours=3)
    code, output, _text = stay.certificate(runner, tmp_path, at)
    assert code == 0, output
    url = pdf_qr_texts(tmp_path / f"cert-{stay.ep}.pdf")[0]
    with freeze_time(at):
        page = app.test_client().get(urlsplit(url).path).get_data(as_text=True)
    assert "第 1 天，实际不足 1 天）提前解除，原因：误登记" in page
