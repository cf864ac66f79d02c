/// One step of a transform stage: a function of a batch of records.
public protocol TransformStep: Sendable {
    func apply(_ records: [Record]) throws -> [Record]
    /// Work that needs the environment (reading a rate file), done once when a run starts.
    func prepared(for run: RunContext) throws -> any TransformStep
    /// A step that remembers earlier records (dedupe) sees its stage's batches one at a time, in order.
    var isStateful: Bool { get }
    /// What the step makes of records of `input`'s kind: nil when no longer known (fields
    /// renamed); throws, with a message for the pipeline file, when it cannot apply to them.
    func output(for input: RecordKind) throws -> RecordKind?
}

extension TransformStep {
    public func prepared(for run: RunContext) throws -> any TransformStep { self }
    public var isStateful: Bool { false }
    public func output(for input: RecordKind) throws -> RecordKind? { input }
}

/// What a step does with a record it cannot process.
public enum ErrorPolicy: Sendable, Equatable {
    /// Fail the run (the default).
    case fail
    /// Drop the record and count it in the summary.
    case skip
    /// Write the record and the reason to this NDJSON file (published with the outputs) and go on.
    case quarantine(String)

    /// The quarantine files of a stage's steps, each once, in step order.
    static func quarantinePaths(_ steps: [ConfiguredStep]) -> [String] {
        var paths: [String] = []
        for step in steps { if case .quarantine(let path) = step.onError, !paths.contains(path) { paths.append(path) } }
        return paths
    }
}

/// A step as a pipeline file configures it.
public struct ConfiguredStep: Sendable {
    public var name: String
    public var step: any TransformStep
    public var onError: ErrorPolicy
    /// Where the step is written, for validation messages.
    public var location: SourceLocation? = nil
}
