// Test kit. See docs/architecture.md.
