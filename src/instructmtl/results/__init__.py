"""The results of a study as stored: the SQLite store, its typed records and atomic file writes.

``store`` (``ResultsStore``: studies, runs, checkpoints, jobs, scores, predictions, facts;
CSV / Parquet export), ``records`` (the typed rows it reads and writes), ``atomic``
(write-then-rename, so a killed process never leaves half a file). It sits below
:mod:`instructmtl.study`, which writes it, and :mod:`instructmtl.report`, which reads it,
so neither imports the other. Nothing is imported here: import the module you need.
"""
