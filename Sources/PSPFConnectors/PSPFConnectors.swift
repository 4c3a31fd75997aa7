// Sources and sinks: the durable MQTT ingest source and the MQTT sink. See docs/ingest.md.
