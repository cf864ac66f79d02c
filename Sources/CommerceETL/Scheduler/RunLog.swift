// Progress and warnings of one run. Warnings are kept for the summary as well as logged.
import Logging
import Synchronization

public final class RunLog: Sendable {
    public let logger: Logger
    private let collected = Mutex<[String]>([])

    public init(logger: Logger) { self.logger = logger }

    public func warning(_ message: String) {
        collected.withLock { $0.append(message) }
        logger.warning("\(message)")
    }

    public func info(_ message: String) { logger.info("\(message)") }

    public var warnings: [String] { collected.withLock { $0 } }
}
