// Pages through one AmeriCommerce resource (see AmeriCommerceConnection for how).
import AsyncHTTPClient
import Foundation
import NIOHTTP1

struct AmeriCommerceExtractor: Extractor {
    var connection: AmeriCommerceConnection
    var resource: String
    var count: Int
    var query: [(String, String)]
    var stage: String = ""
    var incremental: Incremental? = nil

    var resumable: Bool { true }
    var recordKind: RecordKind? { RecordKind(resource: resource, fieldNames: "americommerce") }
    var isIncremental: Bool { incremental != nil }

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

    private func fetchAll(base: String, client: ConnectionClient, output: IncrementalEmitter, resume: Value?, log: RunLog) async throws {
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
                switch AmeriCommercePage.decode(try HTTPExchange.json(answer, url, invalid: invalid, page: "page \(number)"), resource: resource, single: false) {
                case .success(let page): return page
                case .failure(.notAnObject):
                    throw FetchError.permanent("the answer from \(HTTPExchange.withoutQuery(url)) is not a list result")
                case .failure(.noList):
                    throw FetchError.permanent("the answer from \(HTTPExchange.withoutQuery(url)) has no '\(resource)' list")
                }
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
                                  pageDone: { fields in try await output.pageDone(output.position(fields)) },
                                  expect: { output.output.expect(pages: $0, records: $1) })
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
