// What flows on the channels between stages: batches of records and the checkpoint marks behind them.
import Synchronization

/// What flows between stages: records, optionally followed by a checkpoint mark.
struct Batch: Sendable {
    var records: [Record]
    var mark: CheckpointMark? = nil
    /// Where a reader hands the records back when it is done with them (see `ReturnedRecords`).
    var home: ReturnedRecords? = nil

    /// Called by a reader done with the batch: its records go back to the stage that made them.
    func retire() {
        if let home, !records.isEmpty { home.give(records) }
    }
}

/// Records their readers are done with, released by the stage that made them.
///
/// A record is a tree of allocations (strings, arrays, objects). Freed by the thread that read
/// it last (a load), each allocation goes back to the malloc arena of the thread that made it
/// (the extract), taking that arena's lock while the extract allocates from it: the two threads
/// contended for it on every record, and the replay spent 7% of its time in futex waits and
/// wakes. Handed back instead, they are freed by the maker between its batches, a batch or two
/// later, from its own arena without contention (replay CPU 0.68 -> 0.63 s).
final class ReturnedRecords: Sendable {
    private let parked = Mutex<[[Record]]>([])

    func give(_ records: [Record]) {
        parked.withLock { $0.append(records) }
    }

    /// Batches handed back and not yet released.
    var count: Int { parked.withLock { $0.count } }

    /// Drops the references handed back so far, here (the records are freed unless a reader
    /// still holds them).
    func release() {
        let done = parked.withLock { parked -> [[Record]] in
            guard !parked.isEmpty else { return [] }
            let done = parked
            parked = []
            return done
        }
        withExtendedLifetime(done) {}   // released here, outside the lock
    }
}

/// A point in one extract's output that every stage below it makes durable.
public struct CheckpointMark: Sendable {
    /// The extract stage the mark comes from.
    public var extract: String
    /// 1, 2, ... in a run; 0 when the extract starts over (`restart`).
    public var seq: Int
    /// Pages read up to the mark.
    public var pages: Int
    /// Records emitted up to the mark.
    public var records: Int
    /// Where the extract continues (connector-specific).
    public var position: Value
    /// The extract's last mark: every record is before it.
    public var final: Bool = false
    /// The extract could not continue and starts over: everything written for it goes.
    public var restart: Bool = false
    /// How many times the extract started over in this run (marks before a restart are void).
    public var generation: Int = 0
    /// Each transform stage the mark passed: its counts up to the mark (records in, out,
    /// skipped, quarantined), so a continued run's summary counts them as it counts extracts.
    public var transforms: [String: [Int]] = [:]
}
