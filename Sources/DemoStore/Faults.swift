// Fault injection: each request draws, deterministically from the store seed, the request's
// bytes and how many times the same request was seen before, whether to fail and how. A request
// fails at most on its first `maxAttempts` tries, so a client that retries always gets through;
// faults never change the data.

public struct FaultPlan: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// HTTP 500 Internal Server Error.
        case status500 = "500"
        /// HTTP 503 Service Unavailable.
        case status503 = "503"
        /// HTTP 429 Too Many Requests with `Retry-After: 1`.
        case status429 = "429"
        /// The answer comes after an extra second.
        case slow
        /// The connection closes half-way through the body.
        case close
        /// Status 200 with the body cut off mid-element.
        case cut
    }

    /// Probability of each fault per request (their sum at most 1).
    public var rates: [Kind: Double] = [:]
    /// Requests fail at most this many times each.
    public var maxAttempts = 2

    public init(rates: [Kind: Double] = [:], maxAttempts: Int = 2) {
        self.rates = rates
        self.maxAttempts = maxAttempts
    }

    public var isEmpty: Bool { rates.values.allSatisfy { $0 <= 0 } }

    /// Parses `500=0.05,429=0.02,cut=0.01`, or `all=0.3` for that share split over every kind.
    public init(parsing spec: String) throws {
        for part in spec.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, let rate = Double(pair[1]), (0...1).contains(rate) else {
                throw DemoStoreError("fault '\(part)' must be KIND=RATE with RATE between 0 and 1")
            }
            if pair[0] == "all" {
                for kind in Kind.allCases { rates[kind] = rate / Double(Kind.allCases.count) }
            } else if let kind = Kind(rawValue: pair[0]) {
                rates[kind] = rate
            } else {
                throw DemoStoreError("unknown fault '\(pair[0])'; faults are \(Kind.allCases.map(\.rawValue).joined(separator: ", ")), all")
            }
        }
        guard rates.values.reduce(0, +) <= 1.0001 else { throw DemoStoreError("fault rates add up to more than 1") }
    }

    /// The fault for this try of a request, if any.
    func draw(seed: UInt64, requestHash: UInt64, attempt: Int) -> Kind? {
        guard attempt < maxAttempts, !isEmpty else { return nil }
        let u = Double(mix(seed, 99, requestHash, UInt64(attempt)) >> 11) / Double(1 << 53)
        var acc = 0.0
        for kind in Kind.allCases {
            acc += rates[kind] ?? 0
            if u < acc { return kind }
        }
        return nil
    }
}

public struct DemoStoreError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

import Foundation
