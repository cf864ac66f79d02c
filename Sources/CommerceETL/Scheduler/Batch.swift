// What flows on the channels between stages: batches of records and the checkpoint marks behind them.

/// What flows between stages: records, optionally followed by a checkpoint mark.
struct Batch: Sendable {
    var records: [Record]
    var mark: CheckpointMark? = nil
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
