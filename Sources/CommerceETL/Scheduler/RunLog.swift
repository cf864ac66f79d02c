// Messages and progress of one run. Warnings are kept for the summary as well as logged. Each
// stage logs through its own `RunLog` (`stage(_:)`), so every line names the stage it came from
// (the `stage` metadata) and its retries are counted in the run's progress.
import Logging
import Synchronization

public final class RunLog: Sendable {
    public let logger: Logger
    /// The stage this log speaks for; nil for the run as a whole.
    public let stage: String?
    /// The run's live counters.
    public let progress: RunProgress
    private let collected: Collected

    private final class Collected: Sendable {
        let warnings = Mutex<[String]>([])
    }

    public init(logger: Logger, progress: RunProgress = RunProgress()) {
        self.logger = logger
        self.progress = progress
        stage = nil
        collected = Collected()
    }

    private init(parent: RunLog, stage: String) {
        var logger = parent.logger
        logger[metadataKey: "stage"] = .string(stage)
        self.logger = logger
        self.stage = stage
        progress = parent.progress
        collected = parent.collected
    }

    /// The log of one stage: the same run, with the stage named on each line.
    public func stage(_ id: String) -> RunLog { RunLog(parent: self, stage: id) }

    public func warning(_ message: String, fields: Logger.Metadata = [:]) {
        let message = Secrets.redact(message)
        collected.warnings.withLock { $0.append(message) }
        logger.warning("\(message)", metadata: fields.isEmpty ? nil : fields)
    }

    /// Progress worth seeing with `-v`.
    public func info(_ message: String, fields: Logger.Metadata = [:]) {
        logger.info("\(Secrets.redact(message))", metadata: fields.isEmpty ? nil : fields)
    }

    /// Something the user should know that is not a problem (a run continues an interrupted one).
    public func note(_ message: String, fields: Logger.Metadata = [:]) {
        logger.notice("\(Secrets.redact(message))", metadata: fields.isEmpty ? nil : fields)
    }

    /// A request of this stage is tried again: logged as it happens, counted in the progress.
    public func retry(_ message: String, fields: Logger.Metadata = [:]) {
        if let stage { progress.update(stage) { $0.retries += 1 } }
        info(message, fields: fields)
    }

    public var warnings: [String] { collected.warnings.withLock { $0 } }
}
