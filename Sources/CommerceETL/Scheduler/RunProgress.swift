// What each stage of a running pipeline has done so far, for live progress: records, pages and
// the totals an API announced, retries. Stages update it once per batch or page; a display reads
// snapshots of it while the run goes on.
import Synchronization

public final class RunProgress: Sendable {
    public struct Stage: Sendable {
        public let id: String
        /// extract, transform, load or quarantine.
        public let kind: String
        /// Records so far (for a continued run, including what the interrupted run had).
        public var records = 0
        /// Records this stage had when this run started it (the continued run's share), so a rate
        /// counts only this run's.
        public var recordsAtStart = 0
        /// Extracts: pages (API responses or files) read, and the totals when the API tells them.
        public var pages = 0
        public var totalPages: Int?
        public var totalRecords: Int?
        /// Requests tried again after a transient failure.
        public var retries = 0
        public var finished = false
        public let started: ContinuousClock.Instant

        /// Records per second over this run's share.
        public func rate(at now: ContinuousClock.Instant) -> Double {
            let seconds = (now - started).seconds
            return seconds > 0.05 ? Double(records - recordsAtStart) / seconds : 0
        }

        /// Seconds left at the current rate, when the total is known.
        public func secondsLeft(at now: ContinuousClock.Instant) -> Double? {
            let elapsed = (now - started).seconds
            guard !finished, elapsed > 0.5 else { return nil }
            if let totalRecords, records > recordsAtStart, totalRecords >= records {
                return Double(totalRecords - records) / (Double(records - recordsAtStart) / elapsed)
            }
            if let totalPages, pages > 0, totalPages >= pages {
                return Double(totalPages - pages) * elapsed / Double(pages)
            }
            return nil
        }
    }

    private let state = Mutex<[Stage]>([])

    public init() {}

    /// Every stage, in the order they started.
    public var stages: [Stage] { state.withLock { $0 } }

    func start(_ id: String, kind: String, records: Int = 0) {
        state.withLock { stages in
            guard !stages.contains(where: { $0.id == id }) else { return }
            var stage = Stage(id: id, kind: kind, started: .now)
            stage.records = records
            stage.recordsAtStart = records
            stages.append(stage)
        }
    }

    func update(_ id: String, _ body: (inout Stage) -> Void) {
        state.withLock { stages in
            if let i = stages.firstIndex(where: { $0.id == id }) { body(&stages[i]) }
        }
    }
}
