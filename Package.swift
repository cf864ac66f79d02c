// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "commerce-etl",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "CommerceETL", targets: ["CommerceETL"]),
        .executable(name: "commerce-etl", targets: ["commerce-etl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        // Tests only: an independent CSV reader to check what the CSV load writes.
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
    ],
    targets: [
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CDeflate", path: "Sources/CDeflate", providers: [.apt(["libdeflate-dev"])]),
        // zlib: the tests' independent gzip reader, and `bench`'s reference (zlib alone, as `gzip -6`).
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        .target(
            name: "CommerceETL",
            dependencies: [
                "CSQLite", "CDeflate",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "OrderedCollections", package: "swift-collections"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                // A plain TCP connect to tell a refused connection at once (Extract/HTTP/ConnectProbe.swift).
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                // The `postgres:` load (Load/Postgres/): the client, and TLS settings for its sslmode.
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .target(
            name: "DemoStore",
            dependencies: [
                "CommerceETL",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        .executableTarget(
            name: "commerce-etl",
            dependencies: [
                "CommerceETL", "DemoStore", "CZlib",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "CommerceETLTests",
            dependencies: [
                "CommerceETL", "DemoStore", "CSQLite", "CZlib", "commerce-etl",
                .product(name: "CSV", package: "CSV.swift"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                // A server that misbehaves on purpose, for the hostile-source tests.
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        // The README's "Adding a stage kind": a load format and a step from outside the library.
        .testTarget(
            name: "ExtensionExampleTests",
            dependencies: ["CommerceETL", "DemoStore", .product(name: "Logging", package: "swift-log")]
        ),
    ]
)
