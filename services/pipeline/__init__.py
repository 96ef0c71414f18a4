"""The Kafka pipeline of a node: topics, the outbox relay, Faust projection workers, dead letters, metrics."""
