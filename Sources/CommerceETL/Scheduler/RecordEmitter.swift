// How an extractor hands records to the scheduler: one at a time, batched here.

public final class RecordEmitter: @unchecked Sendable {
    // Used by the one task that runs the extractor.
    private let batchSize: Int
    private var buffer: [Record] = []
    private let send: @Sendable ([Record]) async throws -> Void
    public private(set) var count = 0
    /// Pages (API responses or files) the extractor has read, for the manifest.
    public private(set) var pages = 0

    init(batchSize: Int, send: @escaping @Sendable ([Record]) async throws -> Void) {
        self.batchSize = batchSize
        self.send = send
        buffer.reserveCapacity(batchSize)
    }

    public func emit(_ record: Record) async throws {
        buffer.append(record)
        count += 1
        if buffer.count >= batchSize { try await flush() }
    }

    /// Counts one page (an API response or a file) read.
    public func countPage() { pages += 1 }

    public func flush() async throws {
        guard !buffer.isEmpty else { return }
        let batch = buffer
        buffer.removeAll(keepingCapacity: true)
        try await send(batch)
    }
}
