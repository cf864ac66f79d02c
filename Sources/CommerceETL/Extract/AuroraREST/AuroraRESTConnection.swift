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

