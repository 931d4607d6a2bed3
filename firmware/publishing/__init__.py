"""Publishing: rep and set payloads, the outbox, MQTT, Home Assistant discovery, a broker."""
