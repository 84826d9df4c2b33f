"""Id lists to padded tensors: the one ``pad_batch`` every model and pipeline uses."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def pad_batch(sequences: Sequence[Sequence[int]], *, pad_id: int, min_length: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad id lists into (B, T) with T >= ``min_length`` (>= 1, so an empty list still makes a
    tensor a model can take); return (input_ids, lengths), lengths being the unpadded sizes."""
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.long)  # (B,)
    T = max([max(1, min_length), *lengths.tolist()])
    ids = torch.full((len(sequences), T), pad_id, dtype=torch.long)  # (B, T)
    for i, s in enumerate(sequences):
        if len(s):
            ids[i, : len(s)] = torch.as_tensor(list(s), dtype=torch.long)
    return ids, lengths
