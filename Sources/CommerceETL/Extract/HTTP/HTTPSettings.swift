// The settings every HTTP connection shares, each with a range that keeps every wait, size and
// rate finite: values outside it are refused when the pipeline file is read.
import AsyncHTTPClient
import NIOCore

public struct HTTPSettings: Sendable {
    /// Pages requested at once.
    public var concurrency: Int
    /// Seconds to wait for a connection, or between bytes of an answer.
    public var timeout: Int
    /// Seconds one request may take, its whole answer included.
    public var deadline: Int
    /// Retries of a failed page before the run fails.
    public var retries: Int
    /// Requests per second at most (all pages of this connection together); nil for no limit.
    public var rateLimit: Double?
    /// The longest wait a server may ask for (Retry-After), in seconds, before the run fails instead.
    public var maxRetryWait: Int
    /// The largest answer accepted, in bytes.
    public var maxResponseBytes: Int

    public static let defaultMaxRetryWait = 300
    /// From one request an hour to 100,000 a second.
    public static let rateLimitRange = (1.0 / 3600)...100_000

    public init(concurrency: Int = 4, timeout: Int = 60, deadline: Int = 300, retries: Int = 5, rateLimit: Double? = nil,
                maxRetryWait: Int = defaultMaxRetryWait, maxResponseBytes: Int = 64 << 20) {
        self.concurrency = concurrency
        self.timeout = timeout
        self.deadline = deadline
        self.retries = retries
        self.rateLimit = rateLimit
        self.maxRetryWait = maxRetryWait
        self.maxResponseBytes = maxResponseBytes
    }

    static func parse(_ config: ConfigMap) -> HTTPSettings {
        let defaults = HTTPSettings()
        return HTTPSettings(concurrency: config.integer("concurrency", in: 1...64) ?? defaults.concurrency,
                            timeout: config.integer("timeout", in: 1...3600) ?? defaults.timeout,
                            deadline: config.integer("deadline", in: 1...86_400) ?? defaults.deadline,
                            retries: config.integer("retries", in: 0...20) ?? defaults.retries,
                            rateLimit: rateLimit(config),
                            maxRetryWait: config.integer("max_retry_wait", in: 0...86_400) ?? defaults.maxRetryWait,
                            maxResponseBytes: (config.integer("max_response_mb", in: 1...4096) ?? (defaults.maxResponseBytes >> 20)) << 20)
    }

    private static func rateLimit(_ config: ConfigMap) -> Double? {
        guard let v = config.value("rate_limit"), let text = v.string() else { return nil }
        guard let r = Double(text.trimmingCharacters(in: .whitespaces)), r.isFinite, rateLimitRange.contains(r) else {
            v.error("'\(v.path)' must be a number of requests per second from 0.0003 (one an hour) to 100000, found \(v.shown(text))")
            return nil
        }
        return r
    }

    /// What the answer-size limit is called in messages.
    var responseLimitText: String { "max_response_mb (\(maxResponseBytes >> 20) MiB)" }
}

/// Client lifecycle and URL checks shared by the HTTP connections.
enum HTTPConnectionSettings {
    static func checkURL(_ url: String, _ config: ConfigMap) -> Bool {
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            if let v = config.value("url") { v.error("'\(config.path).url' must be an http(s) URL or 'demo', found \(v.shown(url))") }
            return false
        }
        return true
    }

    static func client(_ settings: HTTPSettings) -> HTTPClient {
        let t = TimeAmount.seconds(Int64(settings.timeout))
        // Redirects are not followed: an API that redirects would take the credentials headers
        // (X-AC-Auth-Token, Authorization) to wherever it points. A 3xx fails with its status.
        return HTTPClient(eventLoopGroupProvider: .singleton,
                          configuration: .init(redirectConfiguration: .disallow, timeout: .init(connect: t, read: t)))
    }

    /// Runs `body` with a client of its own, shut down afterwards whether or not `body` throws.
    static func withClient<T>(_ settings: HTTPSettings, _ body: (HTTPClient) async throws -> T) async throws -> T {
        let client = client(settings)
        do {
            let result = try await body(client)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}
