"""Ward gateway: radio link, frame verification, durable outbox, MQTT bridge, downlink."""
