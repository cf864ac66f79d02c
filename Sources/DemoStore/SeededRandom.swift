// Deterministic randomness: every order and product is generated from its own stream, derived
// from the store seed and its index, so any record can be generated alone, in any order, and the
// same seed always gives the same bytes.

struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64, stream: UInt64, index: UInt64) {
        state = seed &* 0x9E37_79B9_7F4A_7C15 ^ stream &* 0xBF58_476D_1CE4_E5B9 ^ index &* 0x94D0_49BB_1331_11EB
        _ = next()
    }

    /// SplitMix64.
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }
    mutating func chance(_ p: Double) -> Bool { Double(next() >> 11) / Double(1 << 53) < p }
    mutating func pick<T>(_ items: [T]) -> T { items[Int(next() % UInt64(items.count))] }

    /// Digits with leading zeros allowed ("0042").
    mutating func digits(_ count: Int) -> String {
        String((0..<count).map { _ in Character(String(next() % 10)) })
    }
}

/// Pure function of its inputs, for decisions that must not depend on any stream's position.
func mix(_ values: UInt64...) -> UInt64 {
    var r = SeededRandom(seed: values.first ?? 0, stream: values.count > 1 ? values[1] : 0, index: values.count > 2 ? values[2] : 0)
    for v in values.dropFirst(3) { r = SeededRandom(seed: r.next(), stream: v, index: 0) }
    return r.next()
}
