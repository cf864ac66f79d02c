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
