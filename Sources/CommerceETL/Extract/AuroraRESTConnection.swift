// `type: aurora-rest`: Aurora's v2 REST (JSON) API (aurora-v2-rest-api.txt).
//
// An OAuth client-credentials token is fetched from `/v2/access_token`, reused, refreshed before
// it expires and once more on a 401. Collections are paged with `page`/`pageSize`: page 1 gives
// `payload.paging.totalItems`, and the remaining pages are then fetched concurrently and emitted
// in order; without a total the `next` links are followed. Each distinct `notices` entry becomes
// one warning in the run summary. Problem responses fail the run with their title, status and
// problem details. Neither the client secret nor the token ever appears in logs or errors.
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

public struct AuroraRESTConnection: Connection {
    /// The API root (`https://ENV.ACCOUNT.myauroraapi.com`), or `demo` / `demo:?...` for the built-in demo store.
    public var url: String
    /// OAuth client id; use `${AURORA_CLIENT_ID}`.
    public var clientID: String
    /// OAuth client secret; use `${AURORA_CLIENT_SECRET}`.
    public var clientSecret: String
    /// Scopes requested with the token.
    public var scopes: String
    /// Concurrency, timeouts, retries and limits.
    public var http: HTTPSettings

    public var summary: String { "aurora-rest \(EmbeddedStores.isDemo(url) ? url + " (built-in demo store)" : url)" }

    static func parse(_ config: ConfigMap) -> (any Connection)? {
        let url = config.string("url", required: true)
        let clientID = config.string("client_id")
        let clientSecret = config.secret("client_secret")
        let scopes = config.strings("scopes")?.joined(separator: " ") ?? "*"
        let http = HTTPSettings.parse(config)
        guard let url else { return nil }
        let isDemo = EmbeddedStores.isDemo(url)
        guard isDemo || HTTPConnectionSettings.checkURL(url, config) else { return nil }
        if !isDemo, (clientID ?? "").isEmpty || (clientSecret ?? "").isEmpty {
            config.context.diagnostics.error("'\(config.path)' needs client_id and client_secret (for example client_secret: ${AURORA_CLIENT_SECRET})", at: config.location)
            return nil
        }
        return AuroraRESTConnection(url: url, clientID: clientID ?? "demo", clientSecret: clientSecret ?? "demo", scopes: scopes, http: http)
    }

    public func extractor(stage: String, config: ConfigMap) -> (any Extractor)? {
        guard let resource = config.string("resource", required: true) else { return nil }
        guard resource.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "/" }) else {
            config.value("resource")?.error("'\(config.path).resource' must be an API collection name such as orders or products, found \(config.shown("resource", resource))")
            return nil
        }
        let pageSize = config.integer("page_size", in: 1...500) ?? 100
        var query: [(String, String)] = []
        if let params = config.stringPairs("query") { query = params.map { ($0.key, $0.value) } }
        return AuroraRESTExtractor(connection: self, resource: resource, pageSize: pageSize, query: query)
    }
}

/// Holds the current access token; one refresh at a time however many pages want one.
actor AccessTokens {
    private let exchange: HTTPExchange
    private let connection: AuroraRESTConnection
    private let base: String
    private let limiter: RateLimiter?
    private var current: (token: String, refreshAt: ContinuousClock.Instant)?
    private var refreshing: Task<String, any Error>?

    init(exchange: HTTPExchange, connection: AuroraRESTConnection, base: String, limiter: RateLimiter?) {
        self.exchange = exchange
        self.connection = connection
        self.base = base
        self.limiter = limiter
    }

    /// A token that is not about to expire; `replacing` one the server refused forces a new one.
    func token(replacing refused: String? = nil) async throws -> String {
        if let current, current.token != refused, ContinuousClock.now < current.refreshAt { return current.token }
        if let refreshing { return try await refreshing.value }
        let task = Task { try await self.fetch() }
        refreshing = task
        defer { refreshing = nil }
        return try await task.value
    }

    private func fetch() async throws -> String {
        let credentials = Data("\(connection.clientID):\(connection.clientSecret)".utf8).base64EncodedString()
        Secrets.register(credentials)
        let form = [("client_id", connection.clientID), ("client_secret", connection.clientSecret),
                    ("grant_type", "client_credentials"), ("scopes", connection.scopes)]
        let body = makeURL("", "", form).dropFirst()
        let url = makeURL(base, "/v2/access_token", [])
        let exchange = self.exchange, limiter = self.limiter
        let answer = try await RetryPolicy(connection.http).run("access token") {
            let a = try await exchange.send(.POST, url, headers: [("Content-Type", "application/x-www-form-urlencoded"),
                                                                 ("Authorization", "Basic \(credentials)")],
                                            body: Array(body.utf8), limiter: limiter)
            guard a.status == 200 else { throw HTTPExchange.statusError(a, AuroraRESTExtractor.problem(a, url)) }
            return a
        }
        guard case .object(let reply) = try HTTPExchange.json(answer, url), case .string(let token)? = reply["access_token"] else {
            throw ETLError("access token: the answer from \(url) holds no access_token")
        }
        Secrets.register(token)
        var lifetime: Int64 = 3600
        // Whatever the server says, between a second and a year: the arithmetic below stays finite.
        if case .integer(let n)? = reply["expires_in"] { lifetime = min(max(n, 1), 31_536_000) }
        // Refresh a fifth of the lifetime early (at most a minute), so no page carries a token that dies in flight.
        let margin = min(60, Double(lifetime) / 5)
        current = (token, .now + .milliseconds(Int64((Double(lifetime) - margin) * 1000)))
        return token
    }
}

struct AuroraRESTExtractor: Extractor {
    var connection: AuroraRESTConnection
    var resource: String
    var pageSize: Int
    var query: [(String, String)]

    var resumable: Bool { true }

    func run(_ output: RecordEmitter, context: RunContext) async throws {
        var base = connection.url
        if EmbeddedStores.isDemo(base) { base = try await context.embeddedStores.store(for: base).auroraRESTURL }
        let resume = output.resumePosition
        guard resume?["done"]?.bool != true else { return }
        output.origin = "from \(base)/v2/\(resource)"
        try await HTTPConnectionSettings.withClient(connection.http) { client in
            try await fetchAll(base: base, client: client, output: output, resume: resume, log: context.logger)
        }
        try await output.end(.object(["done": .bool(true)]))
    }

    private func fetchAll(base: String, client: HTTPClient, output: RecordEmitter, resume: Value?, log: RunLog) async throws {
        let exchange = HTTPExchange(client: client, settings: connection.http)
        let limiter = connection.http.rateLimit.map { RateLimiter(perSecond: $0) }
        let tokens = AccessTokens(exchange: exchange, connection: connection, base: base, limiter: limiter)
        let policy = RetryPolicy(connection.http)
        let notices = NoticeLog(log: log)
        let invalid = InvalidText()
        defer { invalid.report(to: log, origin: "from \(base)/v2/\(resource)") }
        let resource = resource, query = query, pageSize = pageSize
        @Sendable func fetch(_ url: String, _ what: String) async throws -> JSONPage {
            try await policy.run(what, log: log) {
                var token = try await tokens.token()
                var answer = try await exchange.send(.GET, url, headers: [("Accept", "application/json"), ("Authorization", "Bearer \(token)")], limiter: limiter)
                if answer.status == 401 {
                    // The token expired or was revoked: one fresh token, then the same page again.
                    token = try await tokens.token(replacing: token)
                    answer = try await exchange.send(.GET, url, headers: [("Accept", "application/json"), ("Authorization", "Bearer \(token)")], limiter: limiter)
                }
                if answer.status == 401 {
                    // Refused again: the fresh token may have lapsed in flight. Try again after a pause;
                    // a client that is really not allowed fails at the token endpoint or runs out of retries.
                    throw FetchError.transient(Self.problem(answer, url))
                }
                guard answer.status == 200 else { throw HTTPExchange.statusError(answer, Self.problem(answer, url)) }
                guard case .object(let envelope) = try HTTPExchange.json(answer, url, invalid: invalid, page: what),
                      case .object(let payload)? = envelope["payload"] else {
                    throw FetchError.transient("the answer from \(HTTPExchange.withoutQuery(url)) has no payload")
                }
                if case .array(let list)? = envelope["notices"] {
                    for case .string(let notice) in list { notices.report(notice) }
                }
                guard case .array(let items)? = payload["items"] else {
                    throw FetchError.permanent("the answer from \(HTTPExchange.withoutQuery(url)) has no payload.items; is '\(resource)' a collection?")
                }
                let records: [Record] = items.map { item -> Record in
                    if case .object(let r) = item { return r }
                    return ["value": item]
                }
                var total: Int? = nil, next: String? = nil
                if case .object(let paging)? = payload["paging"] {
                    if case .integer(let n)? = paging["totalItems"] { total = Int(n) }
                    if case .string(let link)? = paging["next"] { next = link }
                }
                return JSONPage(records: records, total: total, next: next)
            }
        }
        @Sendable func pageURL(_ page: Int) -> String {
            makeURL(base, "/v2/\(resource)", [("page", String(page)), ("pageSize", String(pageSize))] + query)
        }

        try await PagedFetch.json(resume: resume, pageSize: pageSize, concurrency: connection.http.concurrency, log: log, origin: output.origin,
                                  first: { try await fetch(pageURL(1), "page 1") },
                                  number: { page in try await fetch(pageURL(page), "page \(page)").records },
                                  link: { link, page in try await fetch(link.hasPrefix("http") ? link : makeURL(base, link, []), "page \(page)") },
                                  emit: { records in for record in records { try await output.emit(record) } },
                                  pageDone: { fields in try await output.pageDone(.object(fields)) })
    }

    /// `Validation Error (400): incorrect: This field was not expected.` from a problem body.
    static func problem(_ answer: HTTPExchange.Answer, _ url: String) -> String {
        guard case .object(let body)? = try? JSONReader.parse(answer.body) else {
            return "HTTP \(answer.status) from \(HTTPExchange.withoutQuery(url))\(answer.text.isEmpty ? "" : ": \(answer.text)")"
        }
        let title = body["title"]?.flatText ?? "HTTP \(answer.status)"
        var details: [String] = []
        switch body["problem"] {
        case .object(let fields)?:
            for (field, value) in fields.fields {
                let messages: [String] = if case .array(let list) = value { list.compactMap(\.flatText) } else { [value.flatText ?? ""] }
                details.append("\(field): \(messages.joined(separator: " "))")
            }
        case .array(let list)?: details = list.compactMap(\.flatText)
        default: break
        }
        return "\(title) (\(answer.status)) from \(HTTPExchange.withoutQuery(url))" + (details.isEmpty ? "" : ": " + details.joined(separator: "; "))
    }
}

/// Reports each distinct API notice once.
final class NoticeLog: Sendable {
    private let seen = Mutex<Set<String>>([])
    private let log: RunLog
    init(log: RunLog) { self.log = log }

    func report(_ notice: String) {
        if seen.withLock({ $0.insert(notice).inserted }) { log.warning("API notice: \(notice)") }
    }
}

import Synchronization
