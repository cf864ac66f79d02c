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

public struct AmeriCommerceConnection: ConnectionKind {
    /// The store's root (`https://mystore.com`), or `demo` / `demo:?...` for the built-in demo store.
    public var url: String
    /// API access token, sent as `X-AC-Auth-Token`; use `${AMERICOMMERCE_TOKEN}`.
    public var token: String
    /// Concurrency, timeouts, retries and limits.
    public var http: HTTPSettings

    public var summary: String { "americommerce \(EmbeddedStores.isDemo(url) ? url + " (built-in demo store)" : url)" }

    public static let type = "americommerce"
    public static let summary = "the AmeriCommerce (formerly Spark Pay) REST API"
    enum Keys {
        static let url = Key.string("url", required: true, doc: "the store root (`/api/v1/...` is appended), or `demo` / `demo:?...`", example: "${AMERICOMMERCE_URL:-demo}")
        static let token = Key.secret("token", doc: "required unless `demo`: sent as `X-AC-Auth-Token`; never logged or printed", example: "${AMERICOMMERCE_TOKEN:-demo}")
        static let resource = Key.string("resource", required: true, doc: "any root resource: `products`, `orders`, `customers`, ...", example: "products")
        static let count = Key.integer("count", in: 1...500, doc: "records per page").defaulting(100)
        static let expand = Key.strings("expand", doc: "related resources to include", example: "[variants, categories]")
        static let fields = Key.strings("fields", doc: "the fields to return", example: "[id, item_name]")
        static let sort = Key.string("sort", doc: "sort order", example: "-price,item_name")
        static let filters = Key.custom("filters", .stringMap, doc: "query parameters passed through, in AmeriCommerce's query syntax",
                                        example: "{ updated_at: \"gte:2024-01-01\" }") { (v: ConfigValue) -> [(String, String)]? in
            v.map()?.entries().compactMap { entry in entry.value.string().map { (entry.key, $0) } }
        }
        static let incremental = Incremental.key(fields: ["updated_at", "created_at"])
    }
    public static var options: [OptionSpec] { [Keys.url.spec, Keys.token.spec] + HTTPSettings.options }
    public static var extractOptions: [OptionSpec] {
        [Keys.resource.spec, Keys.count.spec, Keys.expand.spec, Keys.fields.spec, Keys.sort.spec, Keys.filters.spec, Keys.incremental.spec]
    }

    public static func parse(_ config: ConfigMap) -> (any Connection)? {
        let url = config.read(Keys.url)
        let token = config.read(Keys.token)
        let http = HTTPSettings.parse(config)
        guard let url else { return nil }
        let isDemo = EmbeddedStores.isDemo(url)
        guard HTTPConnectionSettings.checkURL(url, config.value(Keys.url.spec)) else { return nil }
        if !isDemo, (token ?? "").isEmpty {
            config.context.diagnostics.error("'\(config.path)' needs 'token' (for example token: ${AMERICOMMERCE_TOKEN}) to call \(url)", at: config.location)
            return nil
        }
        guard HTTPConnectionSettings.checkNotPlaceholder(token, config.value(Keys.token.spec), url: url) else { return nil }
        return AmeriCommerceConnection(url: url, token: token ?? "demo", http: http)
    }

    public func extractor(stage: String, config: ConfigMap) -> (any Extractor)? {
        let resource = config.read(Keys.resource)
        let count = config.read(Keys.count)
        let expand = config.read(Keys.expand)
        let fields = config.read(Keys.fields)
        let sort = config.read(Keys.sort)
        let filters = config.read(Keys.filters) ?? []
        let incremental = config.read(Keys.incremental)
        guard let resource else { return nil }
        guard resource.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
            config.value(Keys.resource.spec)?.error("'\(config.path).resource' must be a root resource name such as products or orders, found \(config.shown(Keys.resource, resource))")
            return nil
        }
        var query: [(String, String)] = []
        if let expand, !expand.isEmpty { query.append(("expand", expand.joined(separator: ","))) }
        if let fields, !fields.isEmpty { query.append(("fields", fields.joined(separator: ","))) }
        if let sort { query.append(("sort", sort)) }
        query += filters
        return AmeriCommerceExtractor(connection: self, resource: resource, count: count, query: query, stage: stage, incremental: incremental)
    }
}
