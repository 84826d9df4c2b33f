"""Limits the pipelines enforce and the task layer documents: one source each, importable without
torch or spaCy."""

MAX_BEAM = 16  # beam search width at most (translate)
MAX_POSITIONS = 512  # BERT's position count: the default (and documented ceiling) when a folder does not say its own
MAX_OCCURRENCES = 256  # occurrences of the target in one senses request (each is read and compared)
