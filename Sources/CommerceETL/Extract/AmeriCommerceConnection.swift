// `type: americommerce`: the AmeriCommerce (earlier Spark Pay) REST API
// (americommerce-rest-common-usage.txt).
//
// `GET /api/v1/{resource}` with `page` and `count`; page 1's `total_count` gives the number of
// pages, and the rest are fetched concurrently and emitted in page order (without a total the
// `next_page` links are followed). A 404 for a page past the end is the end, not an error.
// 429 answers are retried after their Retry-After, `rate_limit` keeps the client under the
// store's limit, and other transient failures are retried as the XML connector does. The
// token is sent as `X-AC-Auth-Token` and never appears in logs or errors.
import AsyncHTTPClient
import Foundation
import NIOHTTP1

public struct AmeriCommerceConnection: Connection {
    /// The store's root (`https://mystore.com`), or `demo` / `demo:?...` for the built-in demo store.
    public var url: String
    /// API access token, sent as `X-AC-Auth-Token`; use `${AMERICOMMERCE_TOKEN}`.
    public var token: String
    /// Concurrency, timeouts, retries and limits.
    public var http: HTTPSettings

    public var summary: String { "americommerce \(EmbeddedStores.isDemo(url) ? url + " (built-in demo store)" : url)" }

    static func parse(_ config: ConfigMap) -> (any Connection)? {
        let url = config.string("url", required: true)
        let token = config.secret("token")
        let http = HTTPSettings.parse(config)
        guard let url else { return nil }
        let isDemo = EmbeddedStores.isDemo(url)
        guard isDemo || HTTPConnectionSettings.checkURL(url, config) else { return nil }
        if !isDemo, (token ?? "").isEmpty {
            config.context.diagnostics.error("'\(config.path)' needs 'token' (for example token: ${AMERICOMMERCE_TOKEN}) to call \(url)", at: config.location)
            return nil
        }
        return AmeriCommerceConnection(url: url, token: token ?? "demo", http: http)
    }

    public func extractor(stage: String, config: ConfigMap) -> (any Extractor)? {
        let resource = config.string("resource", required: true)
        let count = config.integer("count", in: 1...500) ?? 100
        let expand = config.strings("expand")
        let fields = config.strings("fields")
        let sort = config.string("sort")
        let filters = config.stringPairs("filters") ?? []
        let incremental = Incremental.parse(config.value("incremental"), fields: ["updated_at", "created_at"])
        guard let resource else { return nil }
        guard resource.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
            config.value("resource")?.error("'\(config.path).resource' must be a root resource name such as products or orders, found \(config.shown("resource", resource))")
            return nil
        }
        var query: [(String, String)] = []
        if let expand, !expand.isEmpty { query.append(("expand", expand.joined(separator: ","))) }
        if let fields, !fields.isEmpty { query.append(("fields", fields.joined(separator: ","))) }
        if let sort { query.append(("sort", sort)) }
        query += filters.map { ($0.key, $0.value) }
        return AmeriCommerceExtractor(connection: self, resource: resource, count: count, query: query, stage: stage, incremental: incremental)
    }
}

struct AmeriCommerceExtractor: Extractor {
    var connection: AmeriCommerceConnection
    var resource: String
    var count: Int
    var query: [(String, String)]
    var stage: String = ""
    var incremental: Incremental? = nil

    var resumable: Bool { true }

    func run(_ output: RecordEmitter, context: RunContext) async throws {
        var base = connection.url
        if EmbeddedStores.isDemo(base) { base = try await context.embeddedStores.store(for: base).americommerceURL }
        var extract = self
        let cut = incremental.map { IncrementalCut($0, bookmark: context.state?.bookmark(stage)) }
        if let incremental, let cut {
            // A day early on the server (its text comparison ignores offsets); the exact cut is made here.
            let day = cut.after.map { String(Timestamp(epochSeconds: $0.epochSeconds - 86_400).description.prefix(10)) } ?? cut.serverSince
            if let day { extract.query.append((incremental.field, "gte:\(day)")) }
        }
        let filtered = IncrementalEmitter(output: output, field: incremental?.field, after: cut?.after, tracker: cut?.tracker)
        let resume = output.resumePosition
        filtered.restore(resume)
        output.origin = "from \(base)/api/v1/\(resource)"
        if resume?["done"]?.bool != true {
            try await HTTPConnectionSettings.withClient(connection.http) { client in
                try await extract.fetchAll(base: base, client: client, output: filtered, resume: resume, log: context.logger)
            }
            try await output.end(filtered.position(["done": .bool(true)]))
        }
        if let mark = cut?.tracker.value { context.state?.propose(stage, mark) }
    }

    private func fetchAll(base: String, client: HTTPClient, output: IncrementalEmitter, resume: Value?, log: RunLog) async throws {
        let exchange = HTTPExchange(client: client, settings: connection.http)
        let limiter = connection.http.rateLimit.map { RateLimiter(perSecond: $0) }
        let policy = RetryPolicy(connection.http)
        let headers = [("Accept", "application/json"), ("X-AC-Auth-Token", connection.token)]
        let invalid = InvalidText()
        defer { invalid.report(to: log, origin: "from \(base)/api/v1/\(resource)") }
        let resource = resource, count = count, query = query
        /// nil: a 404 past the first page, which is the end.
        @Sendable func fetch(_ url: String, _ number: Int) async throws -> JSONPage? {
            try await policy.run("page \(number)", log: log) {
                let answer = try await exchange.send(.GET, url, headers: headers, limiter: limiter)
                if answer.status == 404, number > 1 { return nil }
                guard answer.status == 200 else { throw HTTPExchange.statusError(answer, Self.error(answer, url)) }
                guard case .object(let list) = try HTTPExchange.json(answer, url, invalid: invalid, page: "page \(number)") else {
                    throw FetchError.permanent("the answer from \(HTTPExchange.withoutQuery(url)) is not a list result")
                }
                guard case .array(let items)? = list[resource] else {
                    throw FetchError.permanent("the answer from \(HTTPExchange.withoutQuery(url)) has no '\(resource)' list")
                }
                var total: Int? = nil, next: String? = nil
                if case .integer(let n)? = list["total_count"] { total = Int(n) }
                if case .string(let link)? = list["next_page"] { next = link }
                let records: [Record] = items.map { item -> Record in
                    if case .object(let r) = item { return r }
                    return ["value": item]
                }
                return JSONPage(records: records, total: total, next: next)
            }
        }
        @Sendable func pageURL(_ page: Int) -> String {
            makeURL(base, "/api/v1/\(resource)", [("page", String(page)), ("count", String(count))] + query)
        }

        try await PagedFetch.json(resume: resume, pageSize: count, concurrency: connection.http.concurrency, log: log, origin: output.output.origin,
                                  first: { try await fetch(pageURL(1), 1) },
                                  number: { page in try await fetch(pageURL(page), page)?.records ?? [] },
                                  link: { url, page in try await fetch(url, page) },
                                  emit: { records in for record in records { try await output.emit(record) } },
                                  pageDone: { fields in try await output.pageDone(output.position(fields)) })
    }

    /// `HTTP 400 Bad Request from URL: details` from the documented error body.
    static func error(_ answer: HTTPExchange.Answer, _ url: String) -> String {
        let where_ = HTTPExchange.withoutQuery(url)
        guard case .object(let body)? = try? JSONReader.parse(answer.body) else {
            return "HTTP \(answer.status) from \(where_)\(answer.text.isEmpty ? "" : ": \(answer.text)")"
        }
        let message = body["message"]?.flatText ?? ""
        let details = body["details"]?.flatText ?? ""
        return "HTTP \(answer.status) \(message) from \(where_)\(details.isEmpty ? "" : ": \(details)")"
    }
}
