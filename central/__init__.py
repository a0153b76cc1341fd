"""Central (IOC): MQTT ingest, stores, geolocation, cases, REST API and dashboard."""
