"""Benchmark suites (``sciml-bench``): cases × methods × seeds run through ``sciml-train``, and a leaderboard."""
