// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "abm",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "abm", targets: ["abm"]),
        .library(name: "ZeroMQ", targets: ["ZeroMQ"]),
        .library(name: "CampaignCore", targets: ["CampaignCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
    ],
    targets: [
        // The only place C is visible: libzmq from Debian's libzmq3-dev.
        .systemLibrary(name: "CZeroMQ", path: "Sources/CZeroMQ"),
        .target(name: "ZeroMQ", dependencies: ["CZeroMQ"]),
        // The domain: pure value types and a pure state machine. No I/O, no clock, no C.
        .target(name: "CampaignCore", dependencies: [
            .product(name: "Mustache", package: "swift-mustache"),
        ]),
        // Durable storage: the store protocol, an in-memory twin and the SQLite (GRDB) default.
        .target(name: "CampaignStore", dependencies: [
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "GRDBSQLite", package: "GRDB.swift"),
        ]),
        // Actors, coordinator, durable scheduler, outbox.
        .target(name: "CampaignRuntime", dependencies: [
            "CampaignCore", "CampaignStore",
            .product(name: "DequeModule", package: "swift-collections"),
            .product(name: "HeapModule", package: "swift-collections"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // ZeroMQ endpoints: decode, validate, ack after commit, publish events.
        .target(name: "CampaignGateway", dependencies: [
            "ZeroMQ", "CampaignCore", "CampaignRuntime", "CampaignStore",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Human-readable views of an event log: a text timeline and an HTML report with an SVG chart.
        .target(name: "CampaignReport", dependencies: ["CampaignCore"]),
        // Client side of the wire protocol: request building, a DEALER request channel, gap-free event
        // tailing, the demo's data. Shared by the `abm` client commands, `abm demo` and `abm bench`.
        .target(name: "AbmClientKit", dependencies: ["ZeroMQ", "CampaignCore", "CampaignGateway"]),
        .executableTarget(name: "abm", dependencies: [
            "CampaignReport", "AbmClientKit",
            "ZeroMQ", "CampaignCore", "CampaignStore", "CampaignRuntime", "CampaignGateway",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "ZeroMQBench", dependencies: ["ZeroMQ"], path: "Benchmarks/ZeroMQBench"),
        .executableTarget(name: "RuntimeBench", dependencies: ["CampaignRuntime", "CampaignCore", "CampaignStore"], path: "Benchmarks/RuntimeBench"),
        .executableTarget(name: "StoreBench", dependencies: ["CampaignStore"], path: "Benchmarks/StoreBench"),
        .executableTarget(name: "StoreCrashProbe", dependencies: ["CampaignStore"], path: "Tests/StoreCrashProbe"),
        // libFuzzer targets (Fuzz/README.md): `make fuzz`; a plain build replays a corpus.
        .systemLibrary(name: "CLibFuzzer", path: "Fuzz/CLibFuzzer"),
        .executableTarget(name: "AbmFuzz", dependencies: ["CampaignCore", "CampaignGateway", "CLibFuzzer"], path: "Fuzz/AbmFuzz"),
        .executableTarget(name: "EngineBench", dependencies: ["CampaignCore"], path: "Benchmarks/EngineBench"),

        .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ"]),
        .testTarget(name: "CampaignCoreTests", dependencies: ["CampaignCore"]),
        .testTarget(name: "CampaignStoreTests", dependencies: ["CampaignStore", "StoreCrashProbe"]),
        .testTarget(name: "CampaignRuntimeTests", dependencies: ["CampaignRuntime", "CampaignCore", "CampaignStore"]),
        .testTarget(name: "CampaignGatewayTests", dependencies: ["CampaignGateway", "ZeroMQ", "CampaignCore", "CampaignRuntime", "CampaignStore"]),
        .testTarget(name: "CampaignReportTests", dependencies: ["CampaignReport", "CampaignCore"]),
        .testTarget(name: "EndToEndTests", dependencies: ["ZeroMQ", "CampaignCore", "CampaignGateway"]),
        .testTarget(name: "AbmClientKitTests", dependencies: ["AbmClientKit", "ZeroMQ", "CampaignCore", "CampaignGateway"]),
    ],
    swiftLanguageModes: [.v6]
)
