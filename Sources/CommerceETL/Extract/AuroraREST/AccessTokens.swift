// OAuth client-credentials tokens for the Aurora v2 API: fetched once, reused, refreshed early.
import AsyncHTTPClient
import Foundation

/// Holds the current access token; one refresh at a time however many pages want one.
actor AccessTokens {
    private let exchange: HTTPExchange
    private let connection: AuroraRESTConnection
    private let base: String
    private let limiter: RateLimiter?
    private let log: RunLog?
    private var current: (token: String, refreshAt: ContinuousClock.Instant)?
    private var refreshing: Task<String, any Error>?

    init(exchange: HTTPExchange, connection: AuroraRESTConnection, base: String, limiter: RateLimiter?, log: RunLog? = nil) {
        self.exchange = exchange
        self.log = log
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
        let answer = try await RetryPolicy(connection.http).run("access token", log: log) {
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
