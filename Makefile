# PSPF: two commands do all set-up on a fresh Debian 12 machine with the Swift toolchain:
#   make demo   builds and runs the demo
#   make test   builds and runs every test
SWIFT ?= swift
export PATH := /opt/swift/usr/bin:$(PATH)

.PHONY: deps build release demo test bench bench-e2e clean

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

# The release binary links the Swift runtime and Foundation statically: one self-contained
# file to copy to a gateway (no Swift toolchain there). Linked with lld and packed relative
# relocations (DT_RELR, glibc >= 2.36): the loader no longer reads 3 MB of relocation records
# at start, and read-only data leaves the code segment. Without --export-dynamic the loader's
# symbol lookups for the C libraries no longer walk a 3.5 MB table of every Swift symbol.
# Together ~7 MiB less RSS (docs/benchmarks.md, "End to end").
RELEASE_FLAGS = -c release --static-swift-stdlib -Xswiftc -use-ld=lld \
	-Xlinker -z -Xlinker pack-relative-relocs -Xlinker --no-export-dynamic
release: deps
	$(SWIFT) build $(RELEASE_FLAGS)

demo: release
	.build/release/pspf demo

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

bench: release
	.build/release/pspf bench log
	.build/release/pspf bench engine
	.build/release/pspf bench ingest
	.build/release/pspf bench checkpoint

# The daemon end to end (docs/benchmarks.md, "End to end"): a local mosquitto, pspf run as a
# child, QoS 0/1 throughput against a mosquitto_sub ceiling, result latency at 20k msg/s, RSS
# at 1k/10k/100k devices. BENCH_E2E_ARGS=--quick for a ~2 minute run.
bench-e2e: release
	.build/release/pspf bench e2e --output bench-e2e.jsonl $(BENCH_E2E_ARGS)

clean:
	rm -rf .build
