"""The pieces of the instruction-tuning loop, each in its own module; ``workflows/tune.py`` puts them in order.

``config`` (the typed ``TuneConfig``), ``data`` (the deterministic per-task draw of tokenized
examples), ``step`` (the plain, weighted and aggregated update), ``state`` (resumable run
state), ``precision`` and ``attention`` (bf16 autocast with fp32 attention on CPU),
``distributed`` (the launch check), ``fit_plan`` (which drawn train instances MTL fit
scores). Tokenized examples and micro-batches with their NLL live one layer down, in
:mod:`instructmtl.tokenized`, shared with the transfer fine-tunes. Nothing is imported
here: import the module you need, so loading one piece does not load them all.
"""
