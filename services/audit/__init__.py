"""Audit and replay: signed checkpoints of the hash chain, verification, exports, shadow replays."""
