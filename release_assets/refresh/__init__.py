"""`release-assets refresh`, `demo` and `dev`: runs of the `release_assets` code location.

command (settings in, exit code out) · orchestrate (the three runs and the summary) · launcher
(code server, `dagster job launch`, waiting) · recovery (runs whose process is gone) · locks ·
home (one Dagster home per purpose) · purposes (real use and the demo) · dev (the UI).
"""
