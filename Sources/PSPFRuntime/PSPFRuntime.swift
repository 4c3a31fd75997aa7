// Partition tasks and runners. See docs/architecture.md.
