# PSPF: two commands do all set-up on a fresh Debian 12 machine with the Swift toolchain:
#   make demo   builds and runs the demo
#   make test   builds and runs every test
SWIFT ?= swift
export PATH := /opt/swift/usr/bin:$(PATH)

.PHONY: deps build release demo test bench clean

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

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

clean:
	rm -rf .build
