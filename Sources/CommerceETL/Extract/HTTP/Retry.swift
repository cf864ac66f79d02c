// Retrying transient failures of paged HTTP fetches, shared by the HTTP connectors. Every wait
// has a bound: each attempt has a deadline for the whole answer, a server's Retry-After longer
// than `max_retry_wait` fails the run instead of sleeping, and backoff is capped.
import Foundation
import Logging

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
    /// The longest a server may ask us to wait (Retry-After) before the run gives up instead.
    public var maxWait: Duration
    /// The longest one attempt may take, the whole answer included; nil for no limit.
    public var deadline: Duration?

    public init(retries: Int, maxWait: Duration = .seconds(HTTPSettings.defaultMaxRetryWait), deadline: Duration? = nil) {
        self.retries = retries
        self.maxWait = maxWait
        self.deadline = deadline
    }

    init(_ settings: HTTPSettings) {
        self.init(retries: settings.retries, maxWait: .seconds(settings.maxRetryWait), deadline: .seconds(settings.deadline))
    }

    /// Exponential backoff with full jitter: a random wait up to base x 2^attempt (capped),
    /// but never less than the server's Retry-After.
    func delay(attempt: Int, retryAfter: Duration?) -> Duration {
        let cap = min(maxDelay, baseDelay * (1 << min(max(attempt, 0), 16)))
        let jittered = cap * Double.random(in: 0.5...1.0)
        return max(jittered, retryAfter ?? .zero)
    }

    /// Runs `body` until it succeeds, fails permanently, or has failed `retries + 1` times.
    /// `what` names the request in the final error ("page 3").
    public func run<T: Sendable>(_ what: String, log: RunLog? = nil, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            try Task.checkCancellation()
            do {
                if let deadline { return try await withDeadline(deadline, body) }
                return try await body()
            } catch let error as FetchError {
                guard case .transient(let message, let retryAfter) = error else {
                    throw ETLError("\(what): \(error)")
                }
                guard attempt < retries else {
                    throw ETLError("\(what): \(message) (gave up after \(attempt + 1) attempts)")
                }
                if let retryAfter, retryAfter > maxWait {
                    throw ETLError("\(what): \(message); the server asked to wait \(Self.seconds(retryAfter)) before retrying, longer than max_retry_wait (\(Self.seconds(maxWait)))")
                }
                let wait = delay(attempt: attempt, retryAfter: retryAfter)
                let waitText = String(format: "%.1f s", wait.seconds)
                log?.retry("\(what): \(message); attempt \(attempt + 2) of \(retries + 1) in \(waitText)",
                           fields: ["request": "\(what)", "attempt": "\(attempt + 2)", "wait_s": "\(waitText.dropLast(2))"])
                try await Task.sleep(for: wait)
                attempt += 1
            }
        }
    }

    static func seconds(_ d: Duration) -> String { "\(d.components.seconds) s" }

    /// `Retry-After` as a number of seconds; a value too large to represent is taken as a
    /// billion seconds (which no `max_retry_wait` allows). The HTTP-date form is ignored.
    static func retryAfter(_ header: String?) -> Duration? {
        guard let text = header?.trimmingCharacters(in: .whitespaces), !text.isEmpty,
              text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        guard text.utf8.count <= 9, let n = Int64(text) else { return .seconds(1_000_000_000) }
        return .seconds(n)
    }
}

/// The time limit of one attempt ran out.
struct DeadlineExceeded: Error {}

/// Runs `body`, giving up after `limit`. Not retried: a server too slow to finish one answer in
/// that time is slow again on the next try, and retrying would multiply the wait by `retries`.
func withDeadline<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        if let first = try await group.next(), let value = first { return value }
        throw FetchError.permanent("no complete answer within the deadline (\(RetryPolicy.seconds(limit)) for one request and its whole answer; raise 'deadline' for a slow store)")
    }
}

/// Spaces requests out to at most `perSecond`, across every task that shares it.
public actor RateLimiter {
    private let interval: Duration
    private var next = ContinuousClock.now

    /// `perSecond` is validated to lie in `HTTPSettings.rateLimitRange`; anything outside is clamped.
    public init(perSecond: Double) {
        let rate = min(max(perSecond, HTTPSettings.rateLimitRange.lowerBound), HTTPSettings.rateLimitRange.upperBound)
        interval = .nanoseconds(Int64((1e9 / rate).rounded()))
    }

    public func acquire() async throws {
        let now = ContinuousClock.now
        let slot = max(now, next)
        next = slot + interval
        if slot > now { try await Task.sleep(until: slot, clock: .continuous) }
    }
}
