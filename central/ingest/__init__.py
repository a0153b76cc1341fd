"""MQTT ingest: uplinks in, cases and readings stored, ACKs and app acks out."""
