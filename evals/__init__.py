"""Offline evaluation (senses, WiC). Never imported by serving code."""
