// How an extractor hands records to the scheduler: one at a time, batched here. An extractor
// that can continue an interrupted run reports each finished page with the position to continue
// from (`pageDone`); every `checkpointEvery` pages the emitter sends a checkpoint mark behind
// that page's records.

public final class RecordEmitter: @unchecked Sendable {
    // Used by the one task that runs the extractor.
    private let batchSize: Int
    private var buffer: [Record] = []
    /// The batches the readers are done with, freed here (`ReturnedRecords`).
    private let returns = ReturnedRecords()
    private let send: @Sendable (Batch) async throws -> Void
    public private(set) var count = 0
    /// Pages (API responses or files) the extractor has read, for the manifest.
    public private(set) var pages = 0
    /// Where the interrupted run this one continues had got to (the last saved mark's position);
    /// nil when the extract starts from the beginning.
    public let resumePosition: Value?
    let extract: String
    let checkpointEvery: Int
    private var seq: Int
    private var pagesSinceMark = 0
    private var generation = 0
    private(set) var ended = false
    /// The most pages the stage may read (`max_pages`).
    let maxPages: Int?
    /// Where pages come from ("from https://..."), set by the extractor, for messages.
    public var origin = ""
    // The page being emitted, and every earlier page, by a fingerprint of their records: an API
    // that sends the same page again (a token or link that never moves on) would otherwise be
    // read forever, duplicating records.
    private var pageCount = 0
    private var pageFirst: Record? = nil
    private var pageLast: Record? = nil
    private var fingerprints: [Int: Int] = [:]

    /// `preview`: stop the extractor (by throwing from `pageDone`/`countPage`) once this many
    /// pages are read; `stoppedEarly` says it happened.
    var stopAfterPages: Int? = nil
    private(set) var stoppedEarly = false

    private func stopIfEnough() throws {
        if let stopAfterPages, pages >= stopAfterPages {
            stoppedEarly = true
            throw EnoughRead()
        }
    }

    /// Where the counts are shown while the run goes on.
    private let progress: RunProgress?

    init(batchSize: Int, extract: String = "", checkpointEvery: Int = PipelineKeys.checkpointEvery.value, resume: SavedCheckpoint.Extract? = nil,
         maxPages: Int? = nil, progress: RunProgress? = nil, send: @escaping @Sendable (Batch) async throws -> Void) {
        self.batchSize = batchSize
        self.progress = progress
        self.maxPages = maxPages
        self.send = send
        self.extract = extract
        self.checkpointEvery = max(1, checkpointEvery)
        self.resumePosition = resume?.position
        self.seq = resume?.seq ?? 0
        self.pages = resume?.pages ?? 0
        self.count = resume?.records ?? 0
        buffer.reserveCapacity(batchSize)
    }

    public func emit(_ record: Record) async throws {
        if pageCount == 0 { pageFirst = record }
        pageLast = record
        pageCount += 1
        buffer.append(record)
        count += 1
        if buffer.count >= batchSize { try await flush() }
    }

    /// Counts one page (an API response or a file) read, for an extract that cannot continue
    /// an interrupted run part way (it starts over instead).
    public func countPage() throws {
        pages += 1
        pageCount = 0
        showProgress()
        try checkPageCap()
        try stopIfEnough()
    }

    /// The totals the API announced (pages, and records when it says), for progress and an ETA.
    public func expect(pages: Int?, records: Int?) {
        progress?.update(extract) {
            $0.totalPages = pages
            $0.totalRecords = records
        }
    }

    private func showProgress() {
        let (count, pages) = (self.count, self.pages)
        progress?.update(extract) {
            $0.records = count
            $0.pages = pages
        }
    }

    private func checkPageCap() throws {
        if let maxPages, pages > maxPages {
            throw ETLError("page \(pages)\(origin.isEmpty ? "" : " " + origin): the stage has read max_pages (\(maxPages)) pages and the source still has more; raise max_pages or narrow the extract")
        }
    }

    /// The API page just read is within `max_pages` and not one read before.
    private func checkPage() throws {
        defer {
            pageCount = 0
            pageFirst = nil
            pageLast = nil
        }
        try checkPageCap()
        guard pageCount > 0, let first = pageFirst, let last = pageLast else { return }
        var hasher = Hasher()
        hasher.combine(pageCount)
        hasher.combine(first)
        hasher.combine(last)
        let fingerprint = hasher.finalize()
        if let earlier = fingerprints.updateValue(pages, forKey: fingerprint) {
            throw ETLError("page \(pages)\(origin.isEmpty ? "" : " " + origin) holds the same records as page \(earlier): the API keeps sending pages it already sent (a paging token or next link that never moves on); stopping instead of reading forever")
        }
    }

    /// A page's records are all emitted; `position` says how to continue after it (read only
    /// when a checkpoint is due).
    public func pageDone(_ position: @autoclosure () -> Value) async throws {
        pages += 1
        showProgress()
        try checkPage()
        if stopAfterPages != nil { try await flush() }
        try stopIfEnough()
        pagesSinceMark += 1
        if pagesSinceMark >= checkpointEvery { try await mark(position(), final: false) }
    }

    /// Every record is emitted; `position` is what a continued run needs to finish without
    /// reading again (the high-water mark, the orders to acknowledge).
    public func end(_ position: Value) async throws {
        guard !ended else { return }
        try await mark(position, final: true)
        ended = true
    }

    /// The extract cannot continue the interrupted run and starts again from the beginning:
    /// every stage below it drops what it wrote for it.
    public func restart() async throws {
        buffer.removeAll(keepingCapacity: true)
        seq = 0
        pages = 0
        count = 0
        pagesSinceMark = 0
        fingerprints = [:]
        pageCount = 0
        generation += 1
        try await send(Batch(records: [], mark: CheckpointMark(extract: extract, seq: 0, pages: 0, records: 0, position: .null,
                                                               restart: true, generation: generation)))
    }

    private func mark(_ position: Value, final: Bool) async throws {
        try await flush()
        seq += 1
        pagesSinceMark = 0
        try await send(Batch(records: [], mark: CheckpointMark(extract: extract, seq: seq, pages: pages, records: count, position: position, final: final, generation: generation)))
    }

    public func flush() async throws {
        guard !buffer.isEmpty else { return }
        showProgress()
        let batch = buffer
        buffer.removeAll(keepingCapacity: true)
        returns.release()
        try await send(Batch(records: batch, home: returns))
        returns.release()
    }
}
