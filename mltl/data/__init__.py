"""Readers, writers and tag schemes for labeled and unlabeled data."""
