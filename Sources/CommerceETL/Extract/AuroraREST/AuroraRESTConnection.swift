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

public struct AuroraRESTConnection: ConnectionKind {
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

    public static let type = "aurora-rest"
    public static let summary = "Aurora's v2 REST (JSON) API"
    enum Keys {
        static let url = Key.string("url", required: true, doc: "the API root (`/v2/...` is appended), or `demo` / `demo:?...`", example: "${AURORA_REST_URL:-demo}")
        static let clientID = Key.string("client_id", doc: "required unless `demo`: the OAuth client id; write it as `${...}`", example: "${AURORA_CLIENT_ID:-demo}")
        static let clientSecret = Key.secret("client_secret", doc: "required unless `demo`: the OAuth client secret; write it as `${...}`. Never logged or printed", example: "${AURORA_CLIENT_SECRET:-demo}")
        static let scopes = Key.strings("scopes", default: "`*`", doc: "scopes asked for with the token", example: "[orders, products]")
        static let resource = Key.string("resource", required: true, doc: "the collection: `orders`, `products`, ...", example: "orders")
        static let pageSize = Key.integer("page_size", in: 1...500, doc: "records per page").defaulting(100)
        static let query = Key.custom("query", .stringMap, doc: "extra query parameters, passed as they are; one the API does not know fails with its 400 problem",
                                      example: "{ status: shipped }") { (v: ConfigValue) -> [(String, String)]? in
            v.map()?.entries().compactMap { entry in entry.value.string().map { (entry.key, $0) } }
        }
    }
    public static var options: [OptionSpec] { [Keys.url.spec, Keys.clientID.spec, Keys.clientSecret.spec, Keys.scopes.spec] + HTTPSettings.options }
    public static var extractOptions: [OptionSpec] { [Keys.resource.spec, Keys.pageSize.spec, Keys.query.spec] }

    public static func parse(_ config: ConfigMap) -> (any Connection)? {
        let url = config.read(Keys.url)
        let clientID = config.read(Keys.clientID)
        let clientSecret = config.read(Keys.clientSecret)
        let scopes = config.read(Keys.scopes)?.joined(separator: " ") ?? "*"
        let http = HTTPSettings.parse(config)
        guard let url else { return nil }
        let isDemo = EmbeddedStores.isDemo(url)
        guard HTTPConnectionSettings.checkURL(url, config.value(Keys.url.spec)) else { return nil }
        if !isDemo, (clientID ?? "").isEmpty || (clientSecret ?? "").isEmpty {
            config.context.diagnostics.error("'\(config.path)' needs client_id and client_secret (for example client_secret: ${AURORA_CLIENT_SECRET})", at: config.location)
            return nil
        }
        guard HTTPConnectionSettings.checkNotPlaceholder(clientSecret, config.value(Keys.clientSecret.spec), url: url) else { return nil }
        return AuroraRESTConnection(url: url, clientID: clientID ?? "demo", clientSecret: clientSecret ?? "demo", scopes: scopes, http: http)
    }

    public func extractor(stage: String, config: ConfigMap) -> (any Extractor)? {
        let pageSize = config.read(Keys.pageSize)
        let query = config.read(Keys.query) ?? []
        guard let resource = config.read(Keys.resource) else { return nil }
        guard resource.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "/" }) else {
            config.value(Keys.resource.spec)?.error("'\(config.path).resource' must be an API collection name such as orders or products, found \(config.shown(Keys.resource, resource))")
            return nil
        }
        return AuroraRESTExtractor(connection: self, resource: resource, pageSize: pageSize, query: query)
    }
}
