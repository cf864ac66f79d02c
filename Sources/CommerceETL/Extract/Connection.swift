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
    /// What its records are; nil when not known.
    var recordKind: RecordKind? { get }
    /// Whether each run reads only what changed since the last (`incremental:`).
    var isIncremental: Bool { get }
}

extension Extractor {
    public var resumable: Bool { false }
    public var recordKind: RecordKind? { nil }
    public var isIncremental: Bool { false }
}

/// What an extract's records are, known when the pipeline file is read, so a step that cannot
/// apply to them is a located validation error instead of a failure at run time.
public struct RecordKind: Sendable, Equatable, CustomStringConvertible {
    /// `orders` or `products`.
    public var resource: String
    /// Whose field names the records follow (a connection type, such as `aurora-xml`).
    public var fieldNames: String
    /// The records are the elements of a list of the extract's records (after `explode`).
    public var exploded = false

    public init(resource: String, fieldNames: String, exploded: Bool = false) {
        self.resource = resource
        self.fieldNames = fieldNames
        self.exploded = exploded
    }

    public var description: String { exploded ? "elements exploded from \(fieldNames) \(resource)" : "\(fieldNames) \(resource)" }
}
