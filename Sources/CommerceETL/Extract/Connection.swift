// A connection type is one type conforming to `Connection`, registered with one line in
// `StageRegistry`. Parsing its settings is validation: pure (no files, no network), so
// `commerce-etl validate` works offline; environment-dependent work happens when a run starts.

/// A configured source of records (`connections:` entry).
public protocol Connection: Sendable {
    /// Reads one extract stage's settings for this connection; nil (with diagnostics) if invalid.
    func extractor(stage: String, config: ConfigMap) -> (any Extractor)?
    /// One line for `plan`.
    var summary: String { get }
}

/// Produces a stage's records in a deterministic order.
public protocol Extractor: Sendable {
    func run(_ output: RecordEmitter, context: RunContext) async throws
    /// Whether it reports page positions (`RecordEmitter.pageDone`) and continues from
    /// `RecordEmitter.resumePosition`; one that does not starts over when a run is resumed.
    var resumable: Bool { get }
}

extension Extractor {
    public var resumable: Bool { false }
}
