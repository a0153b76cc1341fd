"""floodmesh's wire contract: radio frames, MQTT topics, JSON envelopes, test vectors."""
