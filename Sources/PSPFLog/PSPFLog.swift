// The native partitioned log. See docs/log-format.md.
