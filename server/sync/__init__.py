"""Sequencing and commit: one room per open board."""
