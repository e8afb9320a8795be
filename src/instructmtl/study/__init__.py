"""A whole study: its config and presets, the job graph, executors and the facts it records.

``config`` (``StudyConfig`` and the presets), ``jobs`` (the job graph: tune every arm × seed,
evaluate and transfer every checkpoint, each job one workflow of :mod:`instructmtl.workflows`),
``runner`` (runs the graph, resumably, then the report), ``executors`` (local processes, Ray),
``setup_facts`` / ``corpus_facts`` (what the validity checks read). The results store the
jobs write is :mod:`instructmtl.results`. Nothing is imported here: import the module you need.
"""
