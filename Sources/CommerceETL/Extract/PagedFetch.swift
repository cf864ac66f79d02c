// Fetching numbered pages concurrently and emitting them in page order, shared by the HTTP
// connectors. Up to `concurrency` pages are in flight; a finished page waits until every
// earlier page has been emitted, so memory holds at most `concurrency` pages.
import AsyncHTTPClient
import NIOCore
import NIOHTTP1

enum PagedFetch {
    /// Fetches pages `first...last` (or, with no `last`, until a page comes back empty) and
    /// passes each page's records to `emit` in order.
    static func run(first: Int, last: Int?, concurrency: Int,
                    fetch: @escaping @Sendable (Int) async throws -> [Record],
                    emit: ([Record]) async throws -> Void) async throws {
        if let last, last < first { return }
        try await withThrowingTaskGroup(of: (Int, [Record]).self) { group in
            var nextToRequest = first
            var nextToEmit = first
            var inFlight = 0
            var finished = false
            var ready: [Int: [Record]] = [:]
            func launch() {
                while !finished, inFlight < concurrency, last.map({ nextToRequest <= $0 }) ?? true {
                    let page = nextToRequest
                    nextToRequest += 1
                    inFlight += 1
                    group.addTask { (page, try await fetch(page)) }
                }
            }
            launch()
            while !finished, let (page, records) = try await group.next() {
                inFlight -= 1
                ready[page] = records
                while let records = ready.removeValue(forKey: nextToEmit) {
                    if records.isEmpty, last == nil {
                        finished = true
                        break
                    }
                    try await emit(records)
                    nextToEmit += 1
                    if let last, nextToEmit > last { finished = true }
                }
                launch()
            }
            // Pages past the end are not needed.
            group.cancelAll()
        }
    }
}

/// One page of a JSON API: its records, the total the API reports, and its next-page link.
struct JSONPage: Sendable {
    var records: [Record]
    var total: Int?
    var next: String?
}

extension PagedFetch {
    /// The JSON connectors' walk: page 1, then pages by number (concurrently) when it reports a
    /// total, else by next links; continues from a checkpoint position `{page, pages, next}`.
    /// `pageDone` gets each finished page's position fields.
    static func json(resume: Value?, pageSize: Int, concurrency: Int,
                     first: () async throws -> JSONPage?,
                     number: @escaping @Sendable (Int) async throws -> [Record],
                     link: (String, Int) async throws -> JSONPage?,
                     emit: ([Record]) async throws -> Void,
                     pageDone: (Record) async throws -> Void) async throws {
        var start = 2, pages: Int? = nil, next: String? = nil
        if let saved = resume?["page"]?.int {
            start = saved
            pages = resume?["pages"]?.int
            next = resume?["next"]?.string
        } else {
            guard let page = try await first() else { return }
            try await emit(page.records)
            pages = page.total.map { ($0 + pageSize - 1) / pageSize }
            next = page.records.isEmpty ? nil : page.next
            try await pageDone(["page": .integer(2), "pages": pages.map { .integer(Int64($0)) } ?? .null, "next": next.map { .string($0) } ?? .null])
        }
        var current = start
        if let pages {
            try await run(first: start, last: pages, concurrency: concurrency, fetch: number, emit: { records in
                try await emit(records)
                current += 1
                try await pageDone(["page": .integer(Int64(current)), "pages": .integer(Int64(pages))])
            })
        } else {
            while let url = next, let page = try await link(url, current) {
                try await emit(page.records)
                next = page.records.isEmpty ? nil : page.next
                current += 1
                try await pageDone(["page": .integer(Int64(current)), "next": next.map { .string($0) } ?? .null])
            }
        }
    }
}

/// One HTTP exchange for the JSON connectors, with failures classified for `RetryPolicy`.
struct HTTPExchange: Sendable {
    var client: HTTPClient
    var timeout: Int

    struct Answer: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]

        var retryAfter: Duration? { headers.first(name: "Retry-After").flatMap(Int.init).map { .seconds($0) } }
        var text: String { String(decoding: body.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// Sends the request and reads the whole answer (a page is bounded). Connection errors and
    /// broken bodies are transient; the status is left to the caller.
    func send(_ method: HTTPMethod, _ url: String, headers: [(String, String)], body: [UInt8]? = nil,
              limiter: RateLimiter?) async throws -> Answer {
        try await limiter?.acquire()
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        do {
            let response = try await client.execute(request, timeout: .seconds(Int64(timeout)))
            let bytes = try await response.body.collect(upTo: 256 << 20)
            return Answer(status: Int(response.status.code), headers: response.headers, body: Array(bytes.readableBytesView))
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw FetchError.transient("no complete answer from \(Self.withoutQuery(url)): \(String(describing: error).replacingOccurrences(of: "\n", with: " "))")
        }
    }

    /// URLs are named in messages without their query, which may carry filters but never secrets.
    static func withoutQuery(_ url: String) -> String { url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url }

    /// 429 and 5xx are worth retrying; other failures are not.
    static func statusError(_ answer: Answer, _ message: String) -> FetchError {
        answer.status == 429 || answer.status >= 500 ? .transient(message, retryAfter: answer.retryAfter) : .permanent(message)
    }

    /// Parses a JSON body; a cut or malformed one is transient.
    static func json(_ answer: Answer, _ url: String) throws -> Value {
        do {
            return try JSONReader.parse(answer.body)
        } catch {
            throw FetchError.transient("malformed JSON from \(withoutQuery(url)): \(error)")
        }
    }
}

/// Builds `base/path?query` with the query's values percent-encoded.
func makeURL(_ base: String, _ path: String, _ query: [(String, String)]) -> String {
    var url = base.hasSuffix("/") ? String(base.dropLast()) : base
    url += path
    if !query.isEmpty {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        url += "?" + query.map { "\($0.0.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.1)" }.joined(separator: "&")
    }
    return url
}

import Foundation
