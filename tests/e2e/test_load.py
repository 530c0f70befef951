"""A small load round through the real server (bench/load.py, bounded): concurrent generation jobs on
distinct documents during a didChange storm. Every job ends, each applies its own edit at most once,
no edit lands on a storm document, and the diagnostics of every storm document end at its last edit.
The full round (64 jobs, 100 edits/s) is `python bench/load.py`."""

from __future__ import annotations

from bench.load import run_load


def test_jobs_during_a_did_change_storm_all_end_and_diagnostics_stay_current(tiny_model_dir):
    report = run_load(jobs=8, rate=100.0, storm_docs=4, min_storm_s=2.0, time_limit=240.0, model_dir=tiny_model_dir, warm_up=False)
    assert report["commands_answered"] and report["command_errors"] == 0, report
    assert report["jobs_not_ended"] == 0 and report["jobs_ended"] == 8, report
    assert report["completed"] + report["failed"] + report["cancelled"] == 8, report
    assert report["cancelled"] == 0, report  # distinct documents: nothing supersedes anything
    assert report["jobs_that_applied_an_edit"] <= report["outcomes"].get("done", 0), report
    assert report["edits_on_storm_documents"] == 0, report
    assert report["diagnostics_current"] and report["stale_documents"] == {}, report
    assert report["storm"]["did_change_sent"] > 0, report
    assert report["server_alive"] and report["exit_code"] == 0, report
