// Money arithmetic shared by the commerce steps: ISO 4217 minor units, rounding once to them,
// and splitting an amount into parts that add up exactly.
import Foundation

public enum Money {
    /// Minor units (digits after the point) per ISO 4217; 2 for any currency not listed.
    static let minorUnits: [String: Int] = [
        "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0, "RWF": 0, "UGX": 0,
        "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
        "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
        "CLF": 4, "UYW": 4,
    ]

    public static func minorUnits(_ currency: String) -> Int { minorUnits[currency.uppercased()] ?? 2 }

    public enum Rounding: String, Sendable, CaseIterable {
        case halfUp = "half_up"
        case halfEven = "half_even"
    }

    /// `value` rounded to `scale` fraction digits (half up rounds .5 away from zero).
    public static func round(_ value: Decimal, scale: Int, _ rounding: Rounding) -> Decimal {
        var input = value
        var result = Decimal()
        NSDecimalRound(&result, &input, scale, rounding == .halfUp ? .plain : .bankers)
        return result
    }

    /// An amount in whole minor units (an exact integer); nil if it has more digits than the currency allows.
    public static func minor(_ amount: Decimal, scale: Int) -> Int64? {
        let scaled = amount * Decimal(sign: .plus, exponent: scale, significand: 1)
        guard round(scaled, scale: 0, .halfUp) == scaled else { return nil }
        return Int64(truncating: NSDecimalNumber(decimal: scaled))
    }

    /// Minor units back to a decimal with exactly `scale` digits shown.
    public static func decimal(minor: Int64, scale: Int) -> ExactDecimal {
        ExactDecimal(Decimal(minor) / Decimal(sign: .plus, exponent: scale, significand: 1), scale: scale)
    }

    /// Splits `total` minor units over `weights` in proportion, by the largest-remainder method:
    /// everyone gets the floor of their exact share, then the units left over go one each to the
    /// largest remainders; ties go to the later position. The parts add up to `total` exactly.
    /// Nil when every weight is zero (nothing can carry the amount).
    public static func allocate(_ total: Int64, weights: [Int64]) -> [Int64]? {
        let sum = weights.reduce(0, +)
        guard sum > 0 else { return total == 0 ? weights.map { _ in 0 } : nil }
        let sign: Int64 = total < 0 ? -1 : 1
        let magnitude = abs(total)
        var parts: [Int64] = []
        var remainders: [(remainder: Int64, index: Int)] = []
        for (i, w) in weights.enumerated() {
            // magnitude * w / sum in exact integer arithmetic (128-bit product).
            let (high, low) = magnitude.multipliedFullWidth(by: max(0, w))
            let (q, r) = sum.dividingFullWidth((high, low))
            parts.append(q)
            remainders.append((r, i))
        }
        var left = magnitude - parts.reduce(0, +)
        for entry in remainders.sorted(by: { $0.remainder != $1.remainder ? $0.remainder > $1.remainder : $0.index > $1.index }) where left > 0 {
            parts[entry.index] += 1
            left -= 1
        }
        return parts.map { $0 * sign }
    }

    /// Splits `total` minor units into `count` parts as equal as possible, the extra units going
    /// to the last parts (the documents' convention: the last item carries the extra penny).
    public static func splitEvenly(_ total: Int64, count: Int) -> [Int64] {
        guard count > 0 else { return [] }
        let base = total / Int64(count)
        let extra = Int(abs(total % Int64(count)))
        let step: Int64 = total < 0 ? -1 : 1
        return (0..<count).map { $0 >= count - extra ? base + step : base }
    }
}
