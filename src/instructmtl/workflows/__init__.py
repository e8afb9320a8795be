"""The stages of a study, one module each, read top to bottom: setup → run → save → cleanup.

pretrain (the built-in base model), tune (instruction-tuning one arm × seed),
icl, transfer, and the study runner that chains them. Each has a ``main``
taking its typed config; the CLI parses YAML into that config and calls it.
"""
