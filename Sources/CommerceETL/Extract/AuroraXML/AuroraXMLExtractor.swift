// Fetches every page of one Order Get or Product Get and emits the records in page order.
// Resumable: a checkpoint keeps the next page and the paging token (the API keeps the token's
// result set, so a continued run reads the same records); a token the API no longer knows makes
// the extract start over from its bookmark.
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

struct AuroraXMLExtractor: Extractor {
    var connection: AuroraXMLConnection
    var request: AuroraXMLGetRequest
    var stage: String = ""
    var incremental: Incremental? = nil

    var resumable: Bool { true }
    var recordKind: RecordKind? { RecordKind(resource: request.resource.rawValue, fieldNames: "aurora-xml") }
    var isIncremental: Bool { incremental != nil }

    func run(_ output: RecordEmitter, context: RunContext) async throws {
        var endpoint = connection.url
        if EmbeddedStores.isDemo(endpoint) {
            endpoint = try await context.embeddedStores.store(for: endpoint).auroraXMLURL
        }
        var request = self.request
        let cut = incremental.map { IncrementalCut($0, bookmark: context.state?.bookmark(stage)) }
        if let incremental {
            request.dateField = incremental.field == "DateCreated" ? "created" : "modified"
            // The API filters by whole days; the exact cut is made on the records.
            if let since = cut?.serverSince { request.since = since }
        }
        let exported = request.acknowledge ? ExportedOrders() : nil
        let filtered = IncrementalEmitter(output: output, field: incremental?.field, after: cut?.after, tracker: cut?.tracker, exported: exported)
        let resume = output.resumePosition
        filtered.restore(resume)
        output.origin = "from \(endpoint)"
        if resume?["done"]?.bool != true {
            let extract = Self(connection: connection, request: request, stage: stage, incremental: incremental)
            try await HTTPConnectionSettings.withClient(connection.http) { client in
                try await extract.fetchAll(endpoint: endpoint, client: client, output: filtered, resume: resume, log: context.logger)
            }
            try await output.end(filtered.position(["done": .bool(true)]))
        }
        if let mark = cut?.tracker.value { context.state?.propose(stage, mark) }
        if let exported {
            let acknowledger = TrackingAcknowledger(endpoint: endpoint, connection: connection)
            let ids = exported.ids
            context.afterCommit.add("acknowledging \(ids.count) exported order(s) of stage '\(stage)' as sent (they stay unsent and come again next run)") {
                try await acknowledger.acknowledge(ids)
            }
        }
    }

    private func fetchAll(endpoint: String, client: ConnectionClient, output: IncrementalEmitter, resume: Value?, log: RunLog) async throws {
        let limiter = connection.http.rateLimit.map { RateLimiter(perSecond: $0) }
        let policy = RetryPolicy(connection.http)
        let invalid = InvalidText()
        defer { invalid.report(to: log, origin: "from \(endpoint)") }
        let fetcher = PageFetcher(endpoint: endpoint, client: client, connection: connection, request: request, limiter: limiter, invalid: invalid)

        var start = 2
        let token: String
        if let saved = resume?["token"]?.string, let next = resume?["page"]?.int {
            // Continue the interrupted run's result set, if the API still has it.
            do {
                let page = try await policy.run("page \(next)", log: log) { try await fetcher.fetch(page: next, pagingToken: saved) }
                if page.records.isEmpty { return }
                for record in page.records { try await output.emit(record) }
                try await output.pageDone(output.position(["page": .integer(Int64(next + 1)), "token": .string(saved)]))
                token = saved
                start = next + 1
            } catch let rejected as PagingTokenRejected {
                log.note("stage '\(stage)': the API no longer knows the interrupted run's paging token (\(rejected.message)); the stage starts over\(incremental != nil ? " from its bookmark" : "")")
                try await output.restart()
                try await fetchAll(endpoint: endpoint, client: client, output: output, resume: nil, log: log)
                return
            }
        } else {
            let first = try await policy.run("page 1", log: log) { try await fetcher.fetch(page: 1, pagingToken: nil) }
            if first.records.isEmpty {
                try output.countPage()
                return
            }
            for record in first.records { try await output.emit(record) }
            guard let issued = first.token else {
                throw ETLError("page 1: the answer carried no paging token, so further pages cannot be read consistently")
            }
            token = issued
            try await output.pageDone(output.position(["page": .integer(2), "token": .string(token)]))
        }

        // Pages 2, 3, ... with the token, up to `concurrency` in flight, emitted in order; the first empty page ends it.
        var page = start
        try await PagedFetch.run(first: start, last: nil, concurrency: connection.http.concurrency, fetch: { page in
            try await policy.run("page \(page)", log: log) { try await fetcher.fetch(page: page, pagingToken: token) }.records
        }, emit: { records in
            for record in records { try await output.emit(record) }
            page += 1
            try await output.pageDone(output.position(["page": .integer(Int64(page)), "token": .string(token)]))
        })
    }
}

/// Fetches and parses one page; failures are classified for `RetryPolicy`.
private struct PageFetcher: Sendable {
    var endpoint: String
    var client: ConnectionClient
    var connection: AuroraXMLConnection
    var request: AuroraXMLGetRequest
    var limiter: RateLimiter?
    var invalid: InvalidText

    func fetch(page: Int, pagingToken: String?) async throws -> (records: [Record], token: String?) {
        try await limiter?.acquire()
        var http = HTTPClientRequest(url: endpoint)
        http.method = .POST
        http.headers.add(name: "Content-Type", value: "application/xml; charset=utf-8")
        http.body = .bytes(ByteBuffer(string: request.envelope(token: connection.token, page: page, pagingToken: pagingToken)))
        let response: HTTPClientResponse
        do {
            response = try await client.execute(http)
        } catch is CancellationError {
            throw CancellationError()
        } catch let failure as FetchError {
            throw failure
        } catch {
            throw FetchError.transient("cannot reach \(endpoint): \(Self.describe(error))")
        }
        let status = response.status.code
        guard status == 200 else {
            let body = (try? await response.body.collect(upTo: 4096)).map { HTTPExchange.excerpt($0.readableBytesView) } ?? ""
            let message = "HTTP \(status) from \(endpoint)\(body.isEmpty ? "" : ": \(body)")"
            if status == 429 || status >= 500 {
                throw FetchError.transient(message, retryAfter: RetryPolicy.retryAfter(response.headers.first(name: "Retry-After")))
            }
            throw FetchError.permanent(message)
        }
        var parser = XMLPullParser()
        var reader = AuroraXMLRecordReader(resource: request.resource, language: request.language, zone: connection.timezone)
        var records: [Record] = []
        records.reserveCapacity(request.pageSize)
        var received = 0
        do {
            for try await buffer in response.body {
                received += buffer.readableBytes
                if received > connection.http.maxResponseBytes {
                    throw FetchError.permanent("the answer to page \(page) from \(endpoint) is larger than \(connection.http.responseLimitText)")
                }
                parser.feed(buffer.readableBytesView)
                while let record = try reader.read(from: &parser) { records.append(record) }
            }
            parser.finish()
            while let record = try reader.read(from: &parser) { records.append(record) }
        } catch is CancellationError {
            throw CancellationError()
        } catch let e as FetchError {
            throw e
        } catch let e as XMLSyntaxError {
            throw FetchError.transient("malformed answer at \(e.line):\(e.column): \(e.message)")
        } catch let e as AuroraXMLRecordReader.Failure {
            throw FetchError.transient("bad answer at \(e.line):\(e.column): \(e.message)")
        } catch {
            throw FetchError.transient("the answer broke off: \(Self.describe(error))")
        }
        do {
            try reader.finish(line: parser.currentLine, column: parser.currentColumn)
        } catch {
            if pagingToken != nil, reader.errors.contains(where: { $0.code == "1002" }) {
                throw PagingTokenRejected(message: error.message)
            }
            if let ack = reader.ack, ack != "OK", ack != "Warning" {
                throw FetchError.permanent(error.message)
            }
            throw FetchError.transient("the answer ends early at \(error.line):\(error.column): \(error.message)")
        }
        if let first = parser.firstInvalidUTF8 { invalid.add(parser.invalidUTF8, at: "page \(page) at \(first.line):\(first.column)") }
        return (records, reader.pagingToken)
    }

    static func describe(_ error: any Error) -> String {
        String(describing: error).replacingOccurrences(of: "\n", with: " ")
    }
}

/// The API answered that it does not know (any more) the paging token of an interrupted run.
struct PagingTokenRejected: Error {
    var message: String
}
