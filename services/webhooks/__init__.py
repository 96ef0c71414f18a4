"""Webhooks: subscriptions to this node's events, signed deliveries with retries, a delivery log.

A reactor in the API process (``dispatcher``) tails the event store after its own position, like the embedded
projection runner but not a projection: it keeps its own position table, runs only in ``thidua serve``, and a
replay or rebuild of the read models never fires it.
"""
