// Retrying transient failures of paged HTTP fetches, shared by the HTTP connectors.
import Foundation

/// How a fetch failed: worth another try or not.
public enum FetchError: Error, CustomStringConvertible {
    /// Connection errors, timeouts, 5xx, 429, cut or malformed bodies.
    case transient(String, retryAfter: Duration? = nil)
    /// The server's own answer that retrying cannot change (an error envelope, a 4xx).
    case permanent(String)

    public var description: String {
        switch self {
        case .transient(let m, _), .permanent(let m): m
        }
    }
}

public struct RetryPolicy: Sendable {
    public var retries: Int
    public var baseDelay: Duration = .milliseconds(100)
    public var maxDelay: Duration = .seconds(10)

    public init(retries: Int) { self.retries = retries }

    /// Exponential backoff with full jitter: a random wait up to base x 2^attempt (capped),
    /// but never less than the server's Retry-After.
    func delay(attempt: Int, retryAfter: Duration?) -> Duration {
        let cap = min(maxDelay, baseDelay * (1 << min(attempt, 16)))
        let jittered = cap * Double.random(in: 0.5...1.0)
        return max(jittered, retryAfter ?? .zero)
    }

    /// Runs `body` until it succeeds, fails permanently, or has failed `retries + 1` times.
    /// `what` names the request in the final error ("page 3").
    public func run<T: Sendable>(_ what: String, log: RunLog? = nil, _ body: @Sendable () async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            try Task.checkCancellation()
            do {
                return try await body()
            } catch let error as FetchError {
                guard case .transient(let message, let retryAfter) = error else {
                    throw ETLError("\(what): \(error)")
                }
                guard attempt < retries else {
                    throw ETLError("\(what): \(message) (gave up after \(attempt + 1) attempts)")
                }
                log?.info("\(what): \(message); retrying")
                try await Task.sleep(for: delay(attempt: attempt, retryAfter: retryAfter))
                attempt += 1
            }
        }
    }
}

/// Spaces requests out to at most `perSecond`, across every task that shares it.
public actor RateLimiter {
    private let interval: Duration
    private var next = ContinuousClock.now

    public init(perSecond: Double) { interval = .nanoseconds(Int64(1e9 / perSecond)) }

    public func acquire() async throws {
        let now = ContinuousClock.now
        let slot = max(now, next)
        next = slot + interval
        if slot > now { try await Task.sleep(until: slot, clock: .continuous) }
    }
}
