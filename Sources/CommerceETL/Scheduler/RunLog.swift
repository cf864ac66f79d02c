// Progress and warnings of one run. Warnings are kept for the summary as well as logged.
import Logging
import Synchronization

public final class RunLog: Sendable {
    public let logger: Logger
    private let collected = Mutex<[String]>([])

    public init(logger: Logger) { self.logger = logger }

    public func warning(_ message: String) {
        let message = Secrets.redact(message)
        collected.withLock { $0.append(message) }
        logger.warning("\(message)")
    }

    public func info(_ message: String) { logger.info("\(Secrets.redact(message))") }

    /// Something the user should know that is not a problem (a run continues an interrupted one).
    public func note(_ message: String) { logger.notice("\(Secrets.redact(message))") }

    public var warnings: [String] { collected.withLock { $0 } }
}
