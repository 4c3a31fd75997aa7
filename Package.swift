// swift-tools-version: 6.1
import PackageDescription

// Modules are layered by dependency weight (see docs/architecture.md):
//   PSPFJSON, PSPFCore      no IO, no C: values, typed stream API, windows, aggregation
//   PSPFLog                 the native partitioned log (files, fsync on its own thread)
//   PSPFRuntime             partition tasks, runners, checkpoints and recovery, dead letters
//   PSPFConnectors          MQTT ingest, sinks (MQTT, file, HTTP, console) and their forwarders
//   PSPFConfig              the YAML config: loading, validation, expressions, pipeline building
//   PSPFAdmin               admin HTTP server: status model, Prometheus metrics, health
//   PSPFDaemon              `pspf run`: the service group wiring config → ingest → runners → sinks
//   PSPFTesting             test kit: manual clock, deterministic runner, fixtures
//   pspf                    the executable
// CSQLite and CMosquitto wrap the Debian system libraries; CPSPFChecksum is our one C target.

let package = Package(
    name: "pspf",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "pspf", targets: ["pspf"]),
        .library(name: "PSPFCore", targets: ["PSPFCore"]),
        .library(name: "PSPFLog", targets: ["PSPFLog"]),
        .library(name: "PSPFMQTT", targets: ["PSPFMQTT"]),
        .library(name: "PSPFStorage", targets: ["PSPFStorage"]),
        .library(name: "PSPFConnectors", targets: ["PSPFConnectors"]),
        .library(name: "PSPFConfig", targets: ["PSPFConfig"]),
        .library(name: "PSPFRuntime", targets: ["PSPFRuntime"]),
        .library(name: "PSPFTesting", targets: ["PSPFTesting"]),
        .library(name: "PSPFAdmin", targets: ["PSPFAdmin"]),
        .library(name: "PSPFDaemon", targets: ["PSPFDaemon"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .systemLibrary(
            name: "CMosquitto",
            pkgConfig: "libmosquitto",
            providers: [.apt(["libmosquitto-dev"])]
        ),
        .target(name: "PSPFJSON"),
        .target(
            name: "PSPFCore",
            dependencies: [
                "PSPFJSON",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "OrderedCollections", package: "swift-collections"),
            ]
        ),
        .target(
            name: "PSPFLog",
            dependencies: ["CPSPFChecksum", .product(name: "Logging", package: "swift-log")]
        ),
        // CRC-32C with the CPU's CRC instructions (SSE 4.2, ARMv8 CRC), checked at run time.
        .target(name: "CPSPFChecksum"),
        .target(
            name: "PSPFStorage",
            dependencies: ["CSQLite", "PSPFCore", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "PSPFMQTT",
            dependencies: ["CMosquitto", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "PSPFConnectors",
            dependencies: [
                "PSPFCore", "PSPFLog", "PSPFMQTT", "PSPFJSON", "PSPFRuntime",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .target(
            name: "PSPFConfig",
            dependencies: ["PSPFCore", "PSPFJSON", "PSPFRuntime", .product(name: "Yams", package: "Yams")]
        ),
        .target(
            name: "PSPFRuntime",
            dependencies: [
                "PSPFCore", "PSPFLog", "PSPFJSON", "PSPFStorage",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "DequeModule", package: "swift-collections"),
            ]
        ),
        .target(
            name: "PSPFAdmin",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .target(
            name: "PSPFDaemon",
            dependencies: [
                "PSPFCore", "PSPFLog", "PSPFRuntime", "PSPFJSON", "PSPFMQTT", "PSPFConnectors", "PSPFStorage",
                "PSPFConfig", "PSPFAdmin",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "PSPFTesting",
            dependencies: [
                "PSPFCore", "PSPFLog", "PSPFRuntime", "PSPFJSON",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "pspf",
            dependencies: [
                "PSPFCore", "PSPFLog", "PSPFRuntime", "PSPFJSON", "PSPFMQTT", "PSPFConnectors", "PSPFStorage", "PSPFConfig",
                "PSPFAdmin", "PSPFDaemon",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "PSPFJSONTests", dependencies: ["PSPFJSON"]),
        .testTarget(
            name: "PSPFCoreTests",
            dependencies: [
                "PSPFCore", "PSPFTesting",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(name: "PSPFStorageTests", dependencies: ["PSPFStorage", "PSPFTesting"]),
        .testTarget(
            name: "PSPFConnectorsTests",
            dependencies: ["PSPFConnectors", "PSPFTesting", "PSPFMQTT", "PSPFLog", "PSPFRuntime"]
        ),
        .testTarget(name: "PSPFConfigTests", dependencies: ["PSPFConfig", "PSPFTesting", "PSPFCore", "PSPFRuntime"]),
        .testTarget(
            name: "PSPFAdminTests",
            dependencies: [
                "PSPFAdmin", "PSPFTesting",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "PSPFDaemonTests",
            dependencies: [
                "PSPFDaemon", "PSPFAdmin", "PSPFConfig", "PSPFConnectors", "PSPFTesting", "PSPFMQTT", "PSPFLog", "PSPFRuntime",
                "PSPFCore", "PSPFJSON", "PSPFStorage", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "PSPFMQTTTests", dependencies: ["PSPFMQTT", "PSPFTesting"]),
        .testTarget(name: "PSPFLogTests", dependencies: ["PSPFLog", "PSPFTesting"]),
        .testTarget(
            name: "PSPFRuntimeTests", dependencies: ["PSPFRuntime", "PSPFTesting", "PSPFLog", "PSPFCore", "PSPFStorage"]),
    ]
)

// One set of Swift settings for every target (swift-log does the same): Swift 6 mode with
// strict concurrency, and cross-module optimisation so the generic engine specialises into
// the executable and the benchmarks.
for target in package.targets where target.type != .system {
    var settings = target.swiftSettings ?? []
    settings.append(.swiftLanguageMode(.v6))
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.unsafeFlags(["-cross-module-optimization"], .when(configuration: .release)))
    target.swiftSettings = settings
}
