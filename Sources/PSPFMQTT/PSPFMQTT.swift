// Swift client over libmosquitto. See docs/mqtt.md.
