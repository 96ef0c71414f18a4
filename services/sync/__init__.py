"""Sync between levels (đồng bộ giữa các cấp): central and province nodes exchange events over Kafka.

A node's sync service sends what its rules route to its parent and children (``outbound``), imports what the
other nodes route to it as foreign streams (``importer``), and publishes receipts of what it imported
(``receipts``) so ``reconcile`` can prove completeness. See docs/sync.md.
"""
