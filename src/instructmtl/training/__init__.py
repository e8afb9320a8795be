"""The pieces of the instruction-tuning loop, each in its own module; ``workflows/tune.py`` puts them in order.

``config`` (the typed ``TuneConfig``), ``examples`` and ``data`` (tokenized examples and the
deterministic per-task draw), ``batches`` (left-padded micro-batches, per-example content
and end-marker NLL), ``step`` (the plain, weighted and aggregated update), ``state``
(resumable run state), ``precision`` and ``attention`` (bf16 autocast with fp32 attention
on CPU), ``distributed`` (the launch check). Nothing is imported here: import the module
you need, so loading one piece does not load them all.
"""
