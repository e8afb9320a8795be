"""The stages of a study, one module each, read top to bottom: setup → run → save → cleanup.

pretrain (the built-in base model), tune (instruction-tuning one arm × seed), icl_eval (ICL,
MTL generalization and fit of one model) and transfer (few-shot fine-tuning of one model on
the held-out tasks). Each has a ``main`` taking its typed config; the CLI and the study's
jobs (:mod:`instructmtl.study.jobs`) call them, and they put the library's pieces in order.
"""
