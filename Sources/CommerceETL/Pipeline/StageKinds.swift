import Foundation
// The extension points: a connection type, a transform step and a load format are each one
// type conforming to one of these protocols, registered with one line in `StageRegistry`.
// Parsing a stage's settings is validation: it is pure (no files, no network), so
// `commerce-etl validate` works offline. Environment-dependent work happens when a run starts.

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

/// One step of a transform stage: a function of a batch of records.
public protocol TransformStep: Sendable {
    func apply(_ records: [Record]) throws -> [Record]
    /// Work that needs the environment (reading a rate file), done once when a run starts.
    func prepared(for run: RunContext) throws -> any TransformStep
    /// A step that remembers earlier records (dedupe) sees its stage's batches one at a time, in order.
    var isStateful: Bool { get }
}

extension TransformStep {
    public func prepared(for run: RunContext) throws -> any TransformStep { self }
    public var isStateful: Bool { false }
}

/// What a step does with a record it cannot process.
public enum ErrorPolicy: Sendable, Equatable {
    /// Fail the run (the default).
    case fail
    /// Drop the record and count it in the summary.
    case skip
    /// Write the record and the reason to this NDJSON file (published with the outputs) and go on.
    case quarantine(String)
}

/// A step as a pipeline file configures it.
public struct ConfiguredStep: Sendable {
    public var name: String
    public var step: any TransformStep
    public var onError: ErrorPolicy
}

/// A load format (`csv:`, `ndjson_gz:`, `sqlite:`).
public protocol LoadFormat: Sendable {
    /// The output a run of this load produces, for `plan` and the summary.
    var target: String { get }
    /// Opens the output under a temporary name; nothing is visible until `publish`. With
    /// `resume` (a state its writer returned from `checkpoint`), continues an interrupted run's
    /// output from that state.
    func makeWriter(_ run: RunContext, resume: Value?) throws -> any LoadWriter
    /// Removes what an abandoned interrupted run wrote, given its writer's last state.
    func discard(_ state: Value, run: RunContext)
    /// What the output holds before a run, when taking a run back needs it (an append table's rowids).
    func base(_ run: RunContext) throws -> Value?
}

extension LoadFormat {
    public func discard(_ state: Value, run: RunContext) { discardTemporaryFiles(state) }
    public func base(_ run: RunContext) throws -> Value? { nil }
}

/// Removes the temporary files a writer state lists under `temporary`.
func discardTemporaryFiles(_ state: Value) {
    guard case .array(let files)? = state["temporary"] else { return }
    for case .string(let path) in files { try? FileManager.default.removeItem(atPath: path) }
}

/// Writes one load's output. Used by a single task, so it need not be thread safe.
public protocol LoadWriter: AnyObject {
    func write(_ records: [Record]) throws
    /// Makes everything written so far durable (synced, gzip member closed, transaction
    /// committed) and returns the state a resumed run continues from. `final`: no records follow.
    func checkpoint(final: Bool) throws -> Value
    /// Drops everything this run wrote (its extract starts over).
    func restart() throws
    /// Completes the temporary output; returns the files ready to be renamed into place.
    func finish() throws -> LoadResult
    /// Removes everything written so far. Must be safe to call at any point, more than once.
    func abort()
    /// Stops, keeping what the last checkpoint made durable for a resumed run (drops the rest).
    func suspend()
}

public struct LoadResult: Sendable {
    public var staged: [StagedFile]
    public var rows: Int
    public var bytes: Int64
    /// Files of an earlier run this run's outputs replace (rotated parts beyond the new last one),
    /// removed once the new files are published.
    public var obsolete: [String]
    /// Work to do when the outputs are published (a database transaction to commit).
    public var commit: CommitAction?

    public init(staged: [StagedFile], rows: Int, bytes: Int64, obsolete: [String] = [], commit: CommitAction? = nil) {
        self.staged = staged
        self.rows = rows
        self.bytes = bytes
        self.obsolete = obsolete
        self.commit = commit
    }
}

/// A transaction held open for the whole run, committed with the other outputs or rolled back.
public struct CommitAction: Sendable {
    /// The file it changes.
    public var target: String
    public var commit: @Sendable () throws -> Void
    public var rollback: @Sendable () -> Void
}

/// A finished temporary file and the name it gets when the whole run has succeeded.
public struct StagedFile: Sendable {
    public var temporary: String
    public var final: String
}

/// What a run offers its stages.
public struct RunContext: Sendable {
    public var runID: String
    public var pipelineName: String
    public var workingDirectory: String
    public var logger: RunLog
    /// Where relative output paths start, and which they must stay inside.
    public var outputBase: String
    /// The run's date, UTC, as YYYY-MM-DD (for `{run_date}` in paths).
    public var runDate: String
    public var directories = OutputDirectories()
    /// Built-in demo stores, for connections whose URL is `demo`.
    public var embeddedStores: EmbeddedStores
    /// SQLite files shared by the loads that name the same path.
    public var sqliteFiles = SQLiteFiles()
    /// Quarantine files of steps with `on_error: { quarantine: PATH }`.
    public var quarantine = QuarantineFiles()
    /// Bookmarks of incremental extracts.
    public var state: PipelineState? = nil
    /// Work to do once every output is committed (acknowledging exported orders as sent).
    public var afterCommit = AfterCommitActions()
    /// Set when this run continues an interrupted one.
    public var resuming = false

    public init(runID: String, pipelineName: String, workingDirectory: String, logger: RunLog,
                outputBase: String? = nil, started: Date = Date(), runDate: String? = nil,
                embeddedStores: EmbeddedStores = EmbeddedStores(launcher: nil)) {
        self.runID = runID
        self.pipelineName = pipelineName
        self.workingDirectory = workingDirectory
        self.logger = logger
        self.outputBase = outputBase ?? workingDirectory
        let day = Timestamp(epochSeconds: Int64(started.timeIntervalSince1970.rounded(.down))).description.prefix(10)
        self.runDate = runDate ?? String(day)
        self.embeddedStores = embeddedStores
    }
}

/// Wraps the thrown error of a stage with the stage id, for "stage 'orders': ..." messages.
public struct StageError: Error, CustomStringConvertible {
    public var stage: String
    public var underlying: any Error
    public var description: String { "stage '\(stage)': \(describe(underlying))" }
}

/// A plain, one-line error message.
public struct ETLError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

func describe(_ error: any Error) -> String {
    String(describing: error).replacingOccurrences(of: "\n", with: " ")
}

/// Knows every connection type, transform step and load format by its pipeline-file name.
public struct StageRegistry: Sendable {
    public typealias ConnectionParser = @Sendable (ConfigMap) -> (any Connection)?
    public typealias StepParser = @Sendable (ConfigValue) -> (any TransformStep)?
    public typealias LoadParser = @Sendable (ConfigValue) -> (any LoadFormat)?

    public var connections: [(name: String, parse: ConnectionParser)] = []
    public var steps: [(name: String, parse: StepParser)] = []
    public var loads: [(name: String, parse: LoadParser)] = []

    public init() {}

    public static let standard: StageRegistry = {
        var r = StageRegistry()
        r.connections.append(("files", FilesConnection.parse))
        r.connections.append(("aurora-xml", AuroraXMLConnection.parse))
        r.connections.append(("aurora-rest", AuroraRESTConnection.parse))
        r.connections.append(("americommerce", AmeriCommerceConnection.parse))

        r.steps.append(("explode", ExplodeStep.parse))
        r.steps.append(("select", SelectStep.parse))
        r.steps.append(("rename", RenameStep.parse))
        r.steps.append(("drop", DropStep.parse))
        r.steps.append(("filter", FilterStep.parse))
        r.steps.append(("dedupe", DedupeStep.parse))
        r.steps.append(("convert_currency", ConvertCurrencyStep.parse))
        r.steps.append(("normalize_discounts", NormalizeDiscountsStep.parse))

        r.loads.append(("csv", CSVLoad.parse))
        r.loads.append(("ndjson_gz", NDJSONGzipLoad.parse))
        r.loads.append(("sqlite", SQLiteLoad.parse))
        return r
    }()
}

/// Actions a stage asks for once the whole run has committed, in the order they were added.
public final class AfterCommitActions: Sendable {
    public typealias Action = @Sendable () async throws -> Void
    private let actions = Mutex<[(String, Action)]>([])

    public init() {}

    public func add(_ what: String, _ action: @escaping Action) { actions.withLock { $0.append((what, action)) } }

    var count: Int { actions.withLock { $0.count } }

    func run() async throws {
        for (what, action) in actions.withLock({ $0 }) {
            do { try await action() } catch { throw ETLError("\(what): \(describe(error))") }
        }
    }
}

import Synchronization
