import Foundation
import Synchronization

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
    /// Objects several stages of this run share, each owned by the kind that asks for it.
    public var resources = RunResources()
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

/// Objects several stages of one run share (the SQLite load's open files, which several loads
/// may name), created on first use and owned by the kind that asks for them, so the run context
/// need know no stage kind.
public final class RunResources: Sendable {
    private let objects = Mutex<[ObjectIdentifier: any Sendable]>([:])

    public init() {}

    /// The run's one instance of `type`, made by `make` the first time it is asked for.
    public func shared<T: Sendable>(_ type: T.Type, make: () throws -> T) rethrows -> T {
        try objects.withLock { objects in
            if let existing = objects[ObjectIdentifier(type)] as? T { return existing }
            let made = try make()
            objects[ObjectIdentifier(type)] = made
            return made
        }
    }
}
