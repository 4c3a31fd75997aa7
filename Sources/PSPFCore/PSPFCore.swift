// The typed stream engine. See docs/architecture.md.
