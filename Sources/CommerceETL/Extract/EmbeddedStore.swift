// A connection URL of `demo` (or `demo:?orders=N&...`) runs the pipeline against a built-in
// demo store started for the run. The library only knows this interface; the `DemoStore` module
// implements it and the CLI passes it in, so the core carries no store of its own.

public struct EmbeddedStore: Sendable {
    /// The Aurora XML API endpoint of the running store.
    public var auroraXMLURL: String
    /// The root of its Aurora v2 REST API (`/v2/...` below it).
    public var auroraRESTURL: String
    /// The root of its AmeriCommerce REST API (`/api/v1/...` below it).
    public var americommerceURL: String
    public var stop: @Sendable () async -> Void

    public init(auroraXMLURL: String, auroraRESTURL: String, americommerceURL: String, stop: @escaping @Sendable () async -> Void) {
        self.auroraXMLURL = auroraXMLURL
        self.auroraRESTURL = auroraRESTURL
        self.americommerceURL = americommerceURL
        self.stop = stop
    }
}

public protocol EmbeddedStoreLauncher: Sendable {
    func start(options: [String: String]) async throws -> EmbeddedStore
}

/// The embedded stores of one run: started on first use (once per distinct URL), stopped at the end.
public actor EmbeddedStores {
    private let launcher: (any EmbeddedStoreLauncher)?
    private var running: [String: Task<EmbeddedStore, any Error>] = [:]

    public init(launcher: (any EmbeddedStoreLauncher)?) { self.launcher = launcher }

    public static func isDemo(_ url: String) -> Bool { url == "demo" || url.hasPrefix("demo:") }

    /// Parses `demo:?a=1&b=2` into its options.
    public static func options(_ url: String) -> [String: String] {
        guard let q = url.firstIndex(of: "?") else { return [:] }
        var options: [String: String] = [:]
        for pair in url[url.index(after: q)...].split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            options[String(kv[0])] = kv.count > 1 ? String(kv[1]).removingPercentEncoding ?? String(kv[1]) : ""
        }
        return options
    }

    public func store(for url: String) async throws -> EmbeddedStore {
        if let task = running[url] { return try await task.value }
        guard let launcher else { throw ETLError("connection url '\(url)' needs the built-in demo store, which this program does not include") }
        let task = Task { try await launcher.start(options: Self.options(url)) }
        running[url] = task
        return try await task.value
    }

    public func stopAll() async {
        for task in running.values {
            if let store = try? await task.value { await store.stop() }
        }
        running.removeAll()
    }
}

import Foundation
