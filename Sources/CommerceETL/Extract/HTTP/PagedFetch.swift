// Fetching numbered pages concurrently and emitting them in page order, shared by the HTTP
// connectors. Up to `concurrency` pages are in flight; a finished page waits until every
// earlier page has been emitted, so memory holds at most `concurrency` pages.
import AsyncHTTPClient
import NIOCore
import NIOHTTP1

enum PagedFetch {
    /// Fetches pages `first...last` (or, with no `last`, until a page comes back empty) and
    /// passes each page's records to `emit` in order. With a `last` page promised by the API, a
    /// page before it that comes back empty fails the run: the API's total was wrong, and
    /// walking on through pages that hold nothing could take forever.
    static func run(first: Int, last: Int?, concurrency: Int, origin: String = "",
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
                    if records.isEmpty {
                        if let last, nextToEmit < last {
                            throw ETLError("page \(nextToEmit)\(origin.isEmpty ? "" : " " + origin) is empty, but the API's total promised \(last) pages; it stopped carrying records before its own end (a wrong total, or records removed while the export ran)")
                        }
                        if last == nil {
                            finished = true
                            break
                        }
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
    var total: Int? = nil
    var next: String? = nil

    /// A JSON list's items as records; an item that is not an object becomes `{"value": item}`.
    static func records(_ items: [Value]) -> [Record] {
        items.map { if case .object(let r) = $0 { r } else { ["value": $0] } }
    }
}

extension PagedFetch {
    /// The JSON connectors' walk: page 1, then pages by number (concurrently) when it reports a
    /// total, else by next links; continues from a checkpoint position `{page, pages, next}`.
    /// `pageDone` gets each finished page's position fields.
    ///
    /// Guards against APIs that never end: a `next` link already followed fails the run; so does
    /// an empty page before the promised total (see `run`). A full last page is followed by one
    /// look past the total, and records there are reported as a warning through `log`.
    static func json(resume: Value?, pageSize: Int, concurrency: Int, log: RunLog, origin: String,
                     first: () async throws -> JSONPage?,
                     number: @escaping @Sendable (Int) async throws -> [Record],
                     link: (String, Int) async throws -> JSONPage?,
                     emit: ([Record]) async throws -> Void,
                     pageDone: (Record) async throws -> Void,
                     expect: (_ pages: Int?, _ records: Int?) -> Void = { _, _ in }) async throws {
        var start = 2, pages: Int? = nil, next: String? = nil
        // Records on the last page read, to tell whether the total may have been too small.
        var lastCount = -1, fullest = 0
        if let saved = resume?["page"]?.int {
            start = saved
            pages = resume?["pages"]?.int
            next = resume?["next"]?.string
            if pages != nil { expect(pages, nil) }
        } else {
            guard let page = try await first() else { return }
            try await emit(page.records)
            lastCount = page.records.count
            fullest = lastCount
            pages = page.total.map { $0 <= 0 ? 0 : $0 / pageSize + ($0 % pageSize == 0 ? 0 : 1) }
            if let total = page.total { expect(pages, total) }
            next = page.records.isEmpty ? nil : page.next
            try await pageDone(["page": .integer(2), "pages": pages.map { .integer(Int64($0)) } ?? .null, "next": next.map { .string($0) } ?? .null])
        }
        var current = start
        if let pages {
            try await run(first: start, last: pages, concurrency: concurrency, origin: origin, fetch: number, emit: { records in
                try await emit(records)
                lastCount = records.count
                fullest = max(fullest, lastCount)
                current += 1
                try await pageDone(["page": .integer(Int64(current)), "pages": .integer(Int64(pages))])
            })
            // A full last page (or one as full as any, where the API pages by less than asked)
            // may mean the total was too small: look once past it.
            if lastCount > 0, lastCount >= pageSize || (pages > 1 && lastCount >= fullest) {
                // A failure here changes nothing: the export holds what the total promised.
                if let beyond = try? await number(pages + 1), !beyond.isEmpty {
                    log.warning("page \(pages + 1)\(origin.isEmpty ? "" : " " + origin), past the \(pages) page(s) the API's total promised, still holds \(beyond.count) record(s): the total is too small and this export may be incomplete")
                }
            }
        } else {
            var followed: Set<String> = []
            while let url = next {
                guard followed.insert(url).inserted else {
                    throw ETLError("page \(current)\(origin.isEmpty ? "" : " " + origin): the API's next link \(HTTPExchange.withoutQuery(url)) points at a page already read; stopping instead of reading the same pages forever")
                }
                guard let page = try await link(url, current) else { break }
                try await emit(page.records)
                next = page.records.isEmpty ? nil : page.next
                current += 1
                try await pageDone(["page": .integer(Int64(current)), "next": next.map { .string($0) } ?? .null])
            }
        }
    }
}
