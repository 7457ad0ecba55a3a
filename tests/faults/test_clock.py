"""F8: a watermark written by a clock running ahead is not trusted: read as yesterday (in
São Paulo), rewritten, and warned about, so the days it claimed are fetched."""

from __future__ import annotations

import datetime as dt
import json
import logging

from flows.lake import Lake
from flows.sources.partner.ingest import WATERMARK_KEY, plan_days, read_watermark


def test_a_watermark_after_today_is_repaired_and_warned_about(tmp_path, caplog):
    lake = Lake.from_url(str(tmp_path / "lake"))
    today = dt.date(2026, 11, 12)
    # A host whose clock ran 20 days ahead wrote it, consistently with its own clock.
    ahead = dt.datetime(2026, 12, 2, 15, tzinfo=dt.UTC)
    state = {"last_complete_day": "2026-12-01", "updated_at": ahead.isoformat()}
    lake.write_bytes(WATERMARK_KEY, json.dumps(state).encode())

    with caplog.at_level(logging.WARNING):
        day = read_watermark(lake, today)
    assert day == dt.date(2026, 11, 11)
    assert "clock running ahead" in caplog.text and "2026-12-01" in caplog.text
    stored = json.loads(lake.read_bytes(WATERMARK_KEY))
    assert stored["last_complete_day"] == "2026-11-11"  # repaired in the lake too
    assert plan_days(read_watermark(lake, today), None, None, today=today + dt.timedelta(1)) == [
        today
    ]


def test_a_watermark_of_yesterday_is_kept(tmp_path):
    lake = Lake.from_url(str(tmp_path / "lake"))
    written = dt.datetime(2026, 11, 12, 10, tzinfo=dt.UTC)
    state = {"last_complete_day": "2026-11-11", "updated_at": written.isoformat()}
    lake.write_bytes(WATERMARK_KEY, json.dumps(state).encode())
    assert read_watermark(lake, dt.date(2026, 11, 12)) == dt.date(2026, 11, 11)
