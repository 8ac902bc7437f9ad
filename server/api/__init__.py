"""Thin REST routes: decode, hand to the room or store, encode."""
