// The settings every HTTP connection shares, each with a range that keeps every wait, size and
// rate finite: values outside it are refused when the pipeline file is read.
import AsyncHTTPClient
import NIOCore

public struct HTTPSettings: Sendable {
    /// Pages requested at once.
    public var concurrency: Int
    /// Seconds to wait between bytes of an answer.
    public var timeout: Int
    /// Seconds to wait for a connection to the server.
    public var connectTimeout: Int
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

    public static var defaultMaxRetryWait: Int { Keys.maxRetryWait.value }
    /// From one request an hour to 100,000 a second.
    public static let rateLimitRange = (1.0 / 3600)...100_000

    public init(concurrency: Int = Keys.concurrency.value, timeout: Int = Keys.timeout.value, connectTimeout: Int = Keys.connectTimeout.value,
                deadline: Int = Keys.deadline.value,
                retries: Int = Keys.retries.value, rateLimit: Double? = nil, maxRetryWait: Int = Keys.maxRetryWait.value,
                maxResponseBytes: Int = Keys.maxResponseMB.value << 20) {
        self.concurrency = concurrency
        self.timeout = timeout
        self.connectTimeout = connectTimeout
        self.deadline = deadline
        self.retries = retries
        self.rateLimit = rateLimit
        self.maxRetryWait = maxRetryWait
        self.maxResponseBytes = maxResponseBytes
    }

    public enum Keys {
        public static let concurrency = Key.integer("concurrency", in: 1...64, doc: "pages requested at once").defaulting(4)
        public static let timeout = Key.integer("timeout", in: 1...3600, doc: "seconds to wait for the server's answer, or between its bytes").defaulting(60)
        public static let connectTimeout = Key.integer("connect_timeout", in: 1...600, doc: "seconds to wait for a connection to the server; a refused connection, an unknown host or an unreachable network fails the attempt at once, and attempts are retried by `retries`").defaulting(10)
        public static let deadline = Key.integer("deadline", in: 1...86_400, doc: "seconds one request may take, its whole answer included (a server that sends one byte a second meets it); not retried: the run fails (and can be continued from its last checkpoint)").defaulting(300)
        public static let retries = Key.integer("retries", in: 0...20, doc: "retries of a failed page before the run fails").defaulting(5)
        public static let rateLimit = Key.custom("rate_limit", .number(minimum: "0.000277", maximum: "100000"),
            doc: "requests per second at most, from 0.0003 (one an hour) to 100000", example: "20") { (v: ConfigValue) -> Double? in
            guard let text = v.string() else { return nil }
            guard let r = Double(text.trimmingCharacters(in: .whitespaces)), r.isFinite, rateLimitRange.contains(r) else {
                v.error("'\(v.path)' must be a number of requests per second from 0.0003 (one an hour) to 100000, found \(v.shown(text))")
                return nil
            }
            return r
        }
        public static let maxRetryWait = Key.integer("max_retry_wait", in: 0...86_400, doc: "the longest wait, in seconds, a server may ask for with `Retry-After`; a longer one fails the run at once instead of sleeping").defaulting(300)
        public static let maxResponseMB = Key.integer("max_response_mb", in: 1...4096, doc: "the largest answer accepted, in MiB; a larger one fails the run naming this limit").defaulting(64)
    }

    /// The keys every HTTP connection has.
    public static var options: [OptionSpec] {
        [Keys.concurrency.spec, Keys.timeout.spec, Keys.connectTimeout.spec, Keys.deadline.spec, Keys.retries.spec, Keys.rateLimit.spec, Keys.maxRetryWait.spec, Keys.maxResponseMB.spec]
    }

    static func parse(_ config: ConfigMap) -> HTTPSettings {
        HTTPSettings(concurrency: config.read(Keys.concurrency), timeout: config.read(Keys.timeout),
                     connectTimeout: config.read(Keys.connectTimeout), deadline: config.read(Keys.deadline),
                     retries: config.read(Keys.retries), rateLimit: config.read(Keys.rateLimit), maxRetryWait: config.read(Keys.maxRetryWait),
                     maxResponseBytes: config.read(Keys.maxResponseMB) << 20)
    }

    /// What the answer-size limit is called in messages.
    var responseLimitText: String { "max_response_mb (\(maxResponseBytes >> 20) MiB)" }
}

/// Client lifecycle and URL checks shared by the HTTP connections.
enum HTTPConnectionSettings {
    /// A connection's `url`: `demo` (or `demo:?...`), or http(s); anything else is reported on `value`.
    static func checkURL(_ url: String, _ value: ConfigValue?) -> Bool {
        guard EmbeddedStores.isDemo(url) || url.hasPrefix("http://") || url.hasPrefix("https://") else {
            value?.error("'\(value?.path ?? "url")' must be an http(s) URL or 'demo', found \(value?.shown(url) ?? "'\(url)'")")
            return false
        }
        return true
    }

    /// The shipped pipelines default their credentials to `demo` (`${AURORA_TOKEN:-demo}`) so they
    /// run against the built-in store without setup; sent to a real store, that placeholder would
    /// only fail there. Reported where the credential is written, naming the variable to set.
    static func checkNotPlaceholder(_ credential: String?, _ value: ConfigValue?, url: String) -> Bool {
        guard let credential, credential == "demo", !EmbeddedStores.isDemo(url), let value else { return true }
        let variable = value.environmentVariable.map { "set \($0) to the store's credential" } ?? "write the store's credential (as ${VARIABLE})"
        value.error("'\(value.path)' is the placeholder 'demo', which only the built-in demo store takes, but the url is \(HTTPExchange.withoutQuery(url)); \(variable)")
        return false
    }

    static func client(_ settings: HTTPSettings) -> HTTPClient {
        // Redirects are not followed: an API that redirects would take the credentials headers
        // (X-AC-Auth-Token, Authorization) to wherever it points. A 3xx fails with its status.
        HTTPClient(eventLoopGroupProvider: .singleton,
                   configuration: .init(redirectConfiguration: .disallow,
                                        timeout: .init(connect: .seconds(Int64(settings.connectTimeout)), read: .seconds(Int64(settings.timeout)))))
    }

    /// Runs `body` with a client of its own, shut down afterwards whether or not `body` throws.
    static func withClient<T>(_ settings: HTTPSettings, _ body: (ConnectionClient) async throws -> T) async throws -> T {
        let client = client(settings)
        do {
            let result = try await body(ConnectionClient(client: client, settings: settings))
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}

/// A connection's HTTP client: checks that the server takes connections before the first
/// request and after one that got no answer (see `ConnectProbe`).
struct ConnectionClient: Sendable {
    let client: HTTPClient
    let settings: HTTPSettings
    let probe: ConnectProbe

    init(client: HTTPClient, settings: HTTPSettings) {
        self.client = client
        self.settings = settings
        probe = ConnectProbe(connectTimeout: .seconds(settings.connectTimeout))
    }

    func execute(_ request: HTTPClientRequest) async throws -> HTTPClientResponse {
        try await probe.check(request.url)
        do {
            return try await client.execute(request, timeout: .seconds(Int64(settings.timeout)))
        } catch {
            if !(error is CancellationError) { probe.forget(request.url) }
            throw error
        }
    }
}
