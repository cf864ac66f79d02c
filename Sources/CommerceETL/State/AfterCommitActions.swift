import Synchronization

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
