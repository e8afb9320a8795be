"""Token ids and losses shared by instruction-tuning and evaluation, below both.

``encode`` (text → ids with lm-evaluation-harness's split of ``context + continuation``),
``examples`` (a prompt and its target as ids with the target marked: ``TrainExample``),
``batches`` (left-padded micro-batches and their per-example target NLL). Training and
the transfer fine-tunes both build on these, so they tokenize and score alike without
importing each other. Nothing is imported here: import the module you need.
"""
