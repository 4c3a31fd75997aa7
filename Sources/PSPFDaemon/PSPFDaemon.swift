/// `pspf run`: the daemon. One service group runs, from one configuration file, the MQTT
/// ingest of every source, one runner per pipeline and one forwarder per (pipeline, sink),
/// with a graceful drain on SIGTERM/SIGINT. See docs/operations.md.
public enum PSPFDaemon {}
