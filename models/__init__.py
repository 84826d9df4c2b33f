"""lexiflow models: PyTorch networks, configs, vocabularies, checkpoints and training loops.

This layer imports torch, safetensors, numpy and the standard library only. It knows
nothing of HTTP or spaCy.
"""
