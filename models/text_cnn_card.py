"""The Markdown model card (README.md) of a TextCNN artifact, from its config, metrics and data card."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any


def _describe_vectors(vectors: Any) -> str:
    if not isinstance(vectors, Mapping):
        return str(vectors or "none (random embeddings)")
    text = f"{vectors.get('source', vectors.get('name', '?'))} (licence: {vectors.get('licence', '?')})"
    notes = []
    if "found" in vectors and "vocab_size" in vectors:
        notes.append(f"{vectors['found']:,} of {vectors['vocab_size']:,} vocabulary words found")
    if vectors.get("scaled_by"):
        notes.append(f"scaled by {vectors['scaled_by']}")
    if vectors.get("added_after_training"):
        notes.append(f"{vectors['added_after_training']:,} words never seen in training appended after it")
    return text + (f"; {', '.join(notes)}" if notes else "")


def render(config: Any, labels: Sequence[str], metrics: Mapping[str, Any],
           data_card: Mapping[str, Any], *, parameters: int) -> str:
    """A short Markdown model card from the config, metrics and data card."""
    test = metrics.get("test") or {}
    lines = [
        f"# {data_card.get('name', 'TextCNN classifier')}",
        "",
        "A Kim (2014) convolutional n-gram sentence classifier "
        f"(`{config.embedding_mode}` embeddings, filter widths {', '.join(map(str, config.filter_sizes))}, "
        f"{config.num_filters} feature maps each), format `{config.format}`.",
        "",
        f"- Labels: {', '.join(labels)}",
        (f"- Input: the hidden states {', '.join(map(str, getattr(config, 'shared_layers', ())))} of every wordpiece "
         f"from the encoder `{config.encoder}` "
         f"({config.embed_dim}-d; frozen, not part of this artifact: it ships as a package and is checked by name "
         f"and size at load time), then this artifact's own fine-tuned copy of the encoder's layers "
         f"{config.cut_layer + 1}-{config.encoder_num_layers}; one vector per word = the mean of its wordpieces, "
         f"states {list(config.encoder_layers)} mixed by a learned softmax"
         if getattr(config, "encoder_top_layers", 0) else
         f"- Input: the hidden states {list(config.encoder_layers)} of the encoder `{config.encoder}` "
         f"({config.embed_dim}-d; frozen, not part of this artifact: it ships as a package and is checked by name "
         "and size at load time), one vector per word = the mean of its wordpieces, mixed by a learned softmax "
         "over the layers" if getattr(config, "contextual", False) else
         f"- Vocabulary: {config.vocab_size} tokens, {config.embed_dim}-d embeddings, lower-cased: {config.lower}"),
        f"- Tokenizer: `{getattr(config, 'tokenizer', 'words')}` (models.vocab; `ptb` splits clitics: what 's, do n't)",
        f"- Parameters: {parameters:,}",
    ]
    if data_card:
        lines += [
            f"- Training data: {data_card.get('source', '?')} (licence: {data_card.get('licence', '?')})",
            f"- Splits: {json.dumps(data_card.get('splits', {}))}",
            f"- Pretrained vectors: {_describe_vectors(data_card.get('vectors'))}",
            f"- Trained with: `{data_card.get('command', '?')}` in {data_card.get('training_seconds', '?')} s "
            f"on {data_card.get('machine', '?')}",
        ]
    if test:
        lines += ["", "## Evaluation (held-out test split, never used for model selection)", "",
                  f"- accuracy: {test.get('accuracy', float('nan')):.4f}",
                  f"- macro-F1: {test.get('macro_f1', float('nan')):.4f}"]
        if test.get("per_class"):
            lines += ["", "| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
            for lab, c in test["per_class"].items():
                lines.append(f"| {lab} | {c['precision']:.3f} | {c['recall']:.3f} | {c['f1']:.3f} | {c['support']} |")
        if test.get("confusion") and len(test["confusion"]) == len(labels):
            lines += ["", "Confusion matrix (rows = true, columns = predicted):", "",
                      "| | " + " | ".join(labels) + " |", "|---|" + "---:|" * len(labels)]
            for lab, row in zip(labels, test["confusion"]):
                lines.append(f"| **{lab}** | " + " | ".join(str(v) for v in row) + " |")
    lines += [
        "",
        "## Limitations",
        "",
        "Word-level model with a closed vocabulary: unknown words map to `<unk>`. Trained on short English "
        "questions/sentences; expect lower accuracy on other domains. Evidence n-grams are the argmax windows "
        "of the max-pooled filters and their exact contributions to the predicted logit, not a causal account.",
        "",
    ]
    return "\n".join(lines)
