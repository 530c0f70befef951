"""10,000 random and mutated LSP messages at the real server over stdio: no death, every request answered.

Bounded in count (10,000 frames) and time (the send stops after 120 s, answers are awaited 60 s); the
long run is `python bench/fuzz.py --count 100000`.
"""

from __future__ import annotations

from bench.fuzz import run_fuzz


def test_ten_thousand_fuzzed_messages_no_death_every_request_answered(tmp_path):
    report = run_fuzz(10_000, seed=14, time_limit=120.0, answer_timeout=60.0, stderr_path=str(tmp_path / "server.log"))
    assert report["sent"] == 10_000, report
    assert report["deaths"] == 0, report
    assert report["requests_owed"] > 3_000, report
    assert report["unanswered"] == 0, report
    assert report["bad_id_responses"] == 0 and report["client_reader_error"] is None, report
    assert report["unreadable_server_frames"] == 0, report
    assert report["final_request_ok"], report
    assert report["exit_code"] == 0, report  # shutdown + exit still work after all that
