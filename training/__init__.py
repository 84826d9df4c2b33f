"""Offline training: trainers, the shared loop and datasets. Never imported by serving code."""
