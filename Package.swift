// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "abm",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "abm", targets: ["abm"]),
        .library(name: "ZeroMQ", targets: ["ZeroMQ"]),
        .library(name: "AbmWire", targets: ["AbmWire"]),
        .library(name: "CampaignCore", targets: ["CampaignCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        // postgres-nio brings swift-distributed-tracing's Instrumentation targets into the graph; SwiftPM then warns
        // "found 1 file(s) which are unhandled" for a CMakeLists.txt inside that package's sources (1.7.3, the
        // only version available). The warning is about the dependency's manifest; no setting here can silence it.
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // The only place C is visible: libzmq from Debian's libzmq3-dev.
        .systemLibrary(name: "CZeroMQ", path: "Sources/CZeroMQ"),
        .target(name: "ZeroMQ", dependencies: ["CZeroMQ", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")]),
        // The protocol (protocols/abm-wire-v1.md) and its words: JSON value/parser/writer, instants, requests,
        // replies, the one error type, limits, endpoints. No dependencies: server and clients both use it.
        .target(name: "AbmWire"),
        // The domain: pure value types and a pure state machine. No I/O, no clock, no C.
        .target(name: "CampaignCore", dependencies: [
            "AbmWire",
            .product(name: "Mustache", package: "swift-mustache"),
        ]),
        // Durable storage: the store protocol, an in-memory twin and the SQLite (GRDB) default.
        .target(name: "CampaignStore", dependencies: [
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "GRDBSQLite", package: "GRDB.swift"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ]),
        // The PostgreSQL store (postgres-nio): the shared store of several processes (docs/operations.md).
        .target(name: "CampaignPostgres", dependencies: [
            "CampaignStore",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Actors, coordinator, durable scheduler, outbox.
        .target(name: "CampaignRuntime", dependencies: [
            "AbmWire", "CampaignCore", "CampaignStore",
            .product(name: "DequeModule", package: "swift-collections"),
            .product(name: "HeapModule", package: "swift-collections"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ]),
        // ZeroMQ endpoints: decode, validate, ack after commit, publish events.
        .target(name: "CampaignGateway", dependencies: [
            "AbmWire", "ZeroMQ", "CampaignCore", "CampaignRuntime", "CampaignStore",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ]),
        // The operator's HTTP endpoint: Prometheus /metrics, /healthz, /readyz and the live dashboard.
        .target(name: "AbmHTTP", dependencies: [
            "CampaignCore", "CampaignRuntime", "CampaignStore", "CampaignReport", "CampaignGateway",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Human-readable views of an event log: a text timeline and an HTML report with an SVG chart.
        .target(name: "CampaignReport", dependencies: ["AbmWire", "CampaignCore"]),
        // Client side of the wire protocol: request building, a DEALER request channel, gap-free event
        // tailing, the demo's data. Shared by the `abm` client commands, `abm demo` and `abm bench`.
        // Not the server: no gateway, runtime or store.
        .target(name: "AbmClientKit", dependencies: ["AbmWire", "ZeroMQ", "CampaignCore"]),
        .executableTarget(name: "abm", dependencies: [
            "AbmWire", "CampaignReport", "AbmClientKit", "AbmHTTP",
            "ZeroMQ", "CampaignCore", "CampaignStore", "CampaignPostgres", "CampaignRuntime", "CampaignGateway",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ]),
        .executableTarget(name: "ZeroMQBench", dependencies: ["ZeroMQ"], path: "Benchmarks/ZeroMQBench"),
        .executableTarget(name: "RuntimeBench", dependencies: ["AbmWire", "CampaignRuntime", "CampaignCore", "CampaignStore"], path: "Benchmarks/RuntimeBench"),
        .executableTarget(name: "StoreBench", dependencies: ["CampaignStore"], path: "Benchmarks/StoreBench"),
        .executableTarget(name: "StoreCrashProbe", dependencies: ["CampaignStore"], path: "Tests/StoreCrashProbe"),
        // libFuzzer targets (Fuzz/README.md): `make fuzz`; a plain build replays a corpus.
        .systemLibrary(name: "CLibFuzzer", path: "Fuzz/CLibFuzzer"),
        .executableTarget(name: "AbmFuzz", dependencies: ["AbmWire", "CampaignCore", "CampaignGateway", "CLibFuzzer"], path: "Fuzz/AbmFuzz"),
        .executableTarget(name: "EngineBench", dependencies: ["AbmWire", "CampaignCore"], path: "Benchmarks/EngineBench"),

        // What the test targets share: bounded waits, a message mailbox, a seeded generator.
        .target(name: "AbmTestSupport", dependencies: ["ZeroMQ", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")], path: "Tests/AbmTestSupport"),
        .testTarget(name: "AbmWireTests", dependencies: ["AbmWire"]),
        .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ", "AbmTestSupport"]),
        .testTarget(name: "CampaignCoreTests", dependencies: ["AbmWire", "CampaignCore", "AbmTestSupport"]),
        // A throwaway PostgreSQL server per test process (Debian's postgresql-15), for the tests of the PostgreSQL store.
        .target(name: "PostgresTestSupport", dependencies: ["AbmTestSupport"], path: "Tests/PostgresTestSupport"),
        .testTarget(name: "CampaignStoreTests", dependencies: ["AbmTestSupport", "CampaignStore", "CampaignPostgres", "PostgresTestSupport", "StoreCrashProbe"]),
        .testTarget(name: "CampaignRuntimeTests", dependencies: [
            "AbmWire", "CampaignRuntime", "CampaignCore", "CampaignStore",
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ]),
        // Several runtimes sharing the shards of one PostgreSQL database (placement, release, failover).
        .testTarget(name: "ClusterTests", dependencies: [
            "AbmWire", "AbmTestSupport", "CampaignCore", "CampaignRuntime", "CampaignStore", "CampaignPostgres", "PostgresTestSupport",
        ]),
        .testTarget(name: "CampaignGatewayTests", dependencies: [
            "AbmWire", "AbmTestSupport", "CampaignGateway", "ZeroMQ", "CampaignCore", "CampaignRuntime", "CampaignStore",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ]),
        .testTarget(name: "CampaignReportTests", dependencies: ["AbmWire", "CampaignReport", "CampaignCore"]),
        .testTarget(name: "EndToEndTests", dependencies: ["AbmWire", "AbmTestSupport", "PostgresTestSupport", "ZeroMQ", "CampaignCore", "CampaignGateway",
                                                         "CampaignRuntime", "CampaignStore"]),
        .testTarget(name: "AbmHTTPTests", dependencies: ["AbmTestSupport", "AbmWire", "AbmHTTP", "AbmClientKit", "CampaignGateway", "CampaignRuntime", "CampaignStore", "CampaignCore", "ZeroMQ"],
                    exclude: ["dashboard_check.py"]),
        .testTarget(name: "AbmClientKitTests", dependencies: ["AbmWire", "AbmClientKit", "ZeroMQ", "CampaignCore", "CampaignGateway"]),
    ],
    swiftLanguageModes: [.v6]
)
