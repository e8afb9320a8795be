"""The Hugging Face ``datasets`` source: any dataset with a text column.

``datasets`` already does loading, memory-mapping, streaming and shuffling
well, so this module only maps the config onto it and draws each pass's
shuffle seed from the RNG it is given.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import datasets

from instructmtl.corpus.config import DatasetsCorpusConfig
from instructmtl.errors import ConfigError


class DatasetsSource:
    """Documents from one column of a ``datasets`` dataset (in memory, memory-mapped or streamed)."""

    finite = True

    def __init__(self, config: DatasetsCorpusConfig) -> None:
        self.config = config
        self.dataset = self._load()
        columns = self.dataset.column_names
        # a streamed dataset may not know its columns before the first row
        if columns is not None and config.column not in columns:
            raise ConfigError(
                f"corpus (datasets): column '{config.column}' not in {sorted(columns)}; set 'column' to the text column"
            )

    def _load(self) -> datasets.Dataset | datasets.IterableDataset:
        cfg = self.config
        if cfg.disk_path is not None:
            loaded = datasets.load_from_disk(cfg.disk_path)
            if isinstance(loaded, datasets.DatasetDict):
                if cfg.split not in loaded:
                    raise ConfigError(
                        f"corpus (datasets): {cfg.disk_path} has no split '{cfg.split}' "
                        f"(has {sorted(loaded)}); set 'split'"
                    )
                loaded = loaded[cfg.split]
            return loaded.to_iterable_dataset() if cfg.streaming else loaded
        data_files = list(cfg.data_files) if cfg.data_files is not None else None
        return datasets.load_dataset(
            cfg.path, cfg.name, data_files=data_files, split=cfg.split, streaming=cfg.streaming
        )

    def documents(self, rng: random.Random) -> Iterator[str]:
        """Yields the non-empty texts of one pass, shuffled with a seed drawn from ``rng``."""
        seed = rng.getrandbits(32)
        if isinstance(self.dataset, datasets.IterableDataset):
            shuffled = self.dataset.shuffle(seed=seed, buffer_size=self.config.shuffle_buffer)
        else:
            # keep_in_memory: the shuffled index is tiny and must not litter the datasets cache
            shuffled = self.dataset.shuffle(seed=seed, keep_in_memory=True)
        for row in shuffled.select_columns([self.config.column]):
            text = row[self.config.column]
            if text:
                yield text
