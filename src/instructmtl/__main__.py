"""``python -m instructmtl`` (what ``accelerate launch -m instructmtl ...`` runs)."""

from instructmtl.cli import main

main()
