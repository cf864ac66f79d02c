// Pages through one Aurora v2 collection (see AuroraRESTConnection for how).
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

struct AuroraRESTExtractor: Extractor {
    var connection: AuroraRESTConnection
    var resource: String
    var pageSize: Int
    var query: [(String, String)]

    var resumable: Bool { true }
    var recordKind: RecordKind? { RecordKind(resource: resource, fieldNames: "aurora-rest") }

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

    private func fetchAll(base: String, client: ConnectionClient, output: RecordEmitter, resume: Value?, log: RunLog) async throws {
        let exchange = HTTPExchange(client: client, settings: connection.http)
        let limiter = connection.http.rateLimit.map { RateLimiter(perSecond: $0) }
        let tokens = AccessTokens(exchange: exchange, connection: connection, base: base, limiter: limiter, log: log)
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
                switch AuroraRESTPage.decode(try HTTPExchange.json(answer, url, invalid: invalid, page: what), single: false) {
                case .success(let decoded):
                    for notice in decoded.notices { notices.report(notice) }
                    return decoded.page
                case .failure(.noPayload):
                    throw FetchError.transient("the answer from \(HTTPExchange.withoutQuery(url)) has no payload")
                case .failure(.noItems):
                    throw FetchError.permanent("the answer from \(HTTPExchange.withoutQuery(url)) has no payload.items; is '\(resource)' a collection?")
                }
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
                                  pageDone: { fields in try await output.pageDone(.object(fields)) },
                                  expect: { output.expect(pages: $0, records: $1) })
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
