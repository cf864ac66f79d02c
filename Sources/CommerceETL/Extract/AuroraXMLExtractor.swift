// Fetches every page of one Order Get or Product Get and emits the records in page order.
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

struct AuroraXMLExtractor: Extractor {
    var connection: AuroraXMLConnection
    var request: AuroraXMLGetRequest
    var stage: String = ""
    var incremental: Incremental? = nil

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
        let extract = Self(connection: connection, request: request, stage: stage, incremental: incremental)
        try await HTTPConnectionSettings.withClient(timeout: connection.timeout) { client in
            try await extract.fetchAll(endpoint: endpoint, client: client, output: filtered, log: context.logger)
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

    private func fetchAll(endpoint: String, client: HTTPClient, output: IncrementalEmitter, log: RunLog) async throws {
        let limiter = connection.rateLimit.map { RateLimiter(perSecond: $0) }
        let policy = RetryPolicy(retries: connection.retries)
        let fetcher = PageFetcher(endpoint: endpoint, client: client, connection: connection, request: request, limiter: limiter)

        let first = try await policy.run("page 1", log: log) { try await fetcher.fetch(page: 1, pagingToken: nil) }
        output.countPage()
        if first.records.isEmpty { return }
        for record in first.records { try await output.emit(record) }
        guard let token = first.token else {
            throw ETLError("page 1: the answer carried no paging token, so further pages cannot be read consistently")
        }

        // Pages 2, 3, ... with the token, up to `concurrency` in flight, emitted in order; the first empty page ends it.
        try await PagedFetch.run(first: 2, last: nil, concurrency: connection.concurrency, fetch: { page in
            try await policy.run("page \(page)", log: log) { try await fetcher.fetch(page: page, pagingToken: token) }.records
        }, emit: { records in
            output.countPage()
            for record in records { try await output.emit(record) }
        })
    }
}

/// Fetches and parses one page; failures are classified for `RetryPolicy`.
private struct PageFetcher: Sendable {
    var endpoint: String
    var client: HTTPClient
    var connection: AuroraXMLConnection
    var request: AuroraXMLGetRequest
    var limiter: RateLimiter?

    func fetch(page: Int, pagingToken: String?) async throws -> (records: [Record], token: String?) {
        try await limiter?.acquire()
        var http = HTTPClientRequest(url: endpoint)
        http.method = .POST
        http.headers.add(name: "Content-Type", value: "application/xml; charset=utf-8")
        http.body = .bytes(ByteBuffer(string: request.envelope(token: connection.token, page: page, pagingToken: pagingToken)))
        let response: HTTPClientResponse
        do {
            response = try await client.execute(http, timeout: .seconds(Int64(connection.timeout)))
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw FetchError.transient("cannot reach \(endpoint): \(Self.describe(error))")
        }
        let status = response.status.code
        guard status == 200 else {
            let body = (try? await response.body.collect(upTo: 4096)).map { String(buffer: $0) } ?? ""
            let detail = body.trimmingCharacters(in: .whitespacesAndNewlines).prefix(200)
            let message = "HTTP \(status) from \(endpoint)\(detail.isEmpty ? "" : ": \(detail)")"
            if status == 429 || status >= 500 {
                let retryAfter = response.headers.first(name: "Retry-After").flatMap(Int.init).map { Duration.seconds($0) }
                throw FetchError.transient(message, retryAfter: retryAfter)
            }
            throw FetchError.permanent(message)
        }
        var parser = XMLPullParser()
        var reader = AuroraXMLRecordReader(resource: request.resource, language: request.language, zone: connection.timezone)
        var records: [Record] = []
        records.reserveCapacity(request.pageSize)
        do {
            for try await buffer in response.body {
                parser.feed(buffer.readableBytesView)
                while let event = try parser.next() {
                    if let record = try reader.consume(event) { records.append(record) }
                }
            }
            parser.finish()
            while let event = try parser.next() {
                if let record = try reader.consume(event) { records.append(record) }
            }
        } catch is CancellationError {
            throw CancellationError()
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
            if let ack = reader.ack, ack != "OK", ack != "Warning" {
                throw FetchError.permanent(error.message)
            }
            throw FetchError.transient("the answer ends early at \(error.line):\(error.column): \(error.message)")
        }
        return (records, reader.pagingToken)
    }

    static func describe(_ error: any Error) -> String {
        String(describing: error).replacingOccurrences(of: "\n", with: " ")
    }
}

/// Where an incremental extract starts this run: after the bookmark less the lookback (exact,
/// applied to the records), the day to ask the API for, and the newest value seen so far.
struct IncrementalCut {
    /// Records must be later than this; nil on a first run.
    let after: Timestamp?
    /// YYYY-MM-DD for the API's day-level filter; nil to ask for everything.
    let serverSince: String?
    let tracker: HighWaterMark

    init(_ incremental: Incremental, bookmark: Timestamp?) {
        if let bookmark {
            let from = Timestamp(epochSeconds: bookmark.epochSeconds - incremental.lookbackSeconds)
            after = from
            serverSince = String(from.description.prefix(10))
        } else {
            after = nil
            serverSince = incremental.start?.description
        }
        tracker = HighWaterMark(field: incremental.field)
    }
}

/// The newest value of an incremental field among the records of one run.
final class HighWaterMark: @unchecked Sendable {
    // Only touched by the extract's own task, in page order.
    let field: String
    private(set) var value: Timestamp?
    init(field: String) { self.field = field }

    func see(_ record: Record) {
        if let t = Self.instant(record[field]), value.map({ t > $0 }) ?? true { value = t }
    }

    /// A date-time field, typed (XML) or as ISO 8601 text (JSON APIs).
    static func instant(_ value: Value?) -> Timestamp? {
        switch value {
        case .dateTime(let t)?: return t
        case .string(let s)?: if case .dateTime(let t)? = DateParser.parse(s) { return t } else { return nil }
        default: return nil
        }
    }
}

/// Passes records on, dropping those not after the incremental cut and noting the newest field value.
struct IncrementalEmitter {
    let output: RecordEmitter
    let field: String?
    let after: Timestamp?
    let tracker: HighWaterMark?
    var exported: ExportedOrders? = nil

    func emit(_ record: Record) async throws {
        if let field, let after {
            guard let t = HighWaterMark.instant(record[field]), t > after else { return }
        }
        tracker?.see(record)
        if let exported, case .integer(let id)? = record["OrderID"] { exported.add(id) }
        try await output.emit(record)
    }

    func countPage() { output.countPage() }
}

/// The OrderIDs a run exported, to acknowledge once it has committed.
final class ExportedOrders: @unchecked Sendable {
    // Only touched by the extract's own task.
    private(set) var ids: [Int64] = []
    func add(_ id: Int64) { ids.append(id) }
}
