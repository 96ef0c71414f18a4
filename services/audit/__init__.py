"""Audit and replay (issue 8): signed checkpoints of the hash chain, verification, exports, shadow replays."""
