"""Central's durable store: readings, cases, node health, counters."""
