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

    /// An amount in whole minor units (an exact integer); nil if it has more digits than the
    /// currency allows or more minor units than 64 bits hold.
    public static func minor(_ amount: Decimal, scale: Int) -> Int64? {
        let scaled = amount * Decimal(sign: .plus, exponent: scale, significand: 1)
        guard round(scaled, scale: 0, .halfUp) == scaled, let (units, exponent) = integerParts(scaled), exponent >= 0,
              let power = power10(exponent) else { return nil }
        let (n, overflow) = units.multipliedReportingOverflow(by: power)
        guard !overflow, let result = Int64(exactly: n) else { return nil }
        return result
    }

    /// `amount x numerator / denominator`, rounded once to `scale` fraction digits. Computed as one
    /// exact fraction in 128-bit integers, so a cross rate through a table's base is never
    /// truncated before the rounding; nil when the digits go beyond that exact range.
    public static func convert(_ amount: Decimal, times numerator: Decimal, over denominator: Decimal,
                               scale: Int, _ rounding: Rounding) -> Decimal? {
        guard let (a, ea) = integerParts(amount), let (n, en) = integerParts(numerator), let (d, ed) = integerParts(denominator),
              d != 0 else { return nil }
        var (top, o1) = a.multipliedReportingOverflow(by: n)
        guard !o1 else { return nil }
        var bottom = d
        let k = ea + en + scale - ed
        guard let power = power10(abs(k)) else { return top == 0 ? 0 : nil }
        if k >= 0 {
            (top, o1) = top.multipliedReportingOverflow(by: power)
        } else {
            (bottom, o1) = bottom.multipliedReportingOverflow(by: power)
        }
        guard !o1 else { return nil }
        let negative = (top < 0) != (bottom < 0) && top != 0
        let num = top.magnitude, den = bottom.magnitude
        var q = num / den
        let r = num % den
        let twice = r.multipliedReportingOverflow(by: 2)
        let roundUp: Bool
        if twice.overflow || twice.partialValue > den {
            roundUp = true
        } else if twice.partialValue == den {
            roundUp = rounding == .halfUp || q % 2 == 1
        } else {
            roundUp = false
        }
        if roundUp { q += 1 }
        guard let magnitude = Decimal(string: String(q), locale: Locale(identifier: "en_US_POSIX")) else { return nil }
        return Decimal(sign: negative ? .minus : .plus, exponent: -scale, significand: magnitude)
    }

    /// A decimal as an exact integer and a power of ten; nil beyond 128 bits.
    static func integerParts(_ d: Decimal) -> (Int128, Int)? {
        guard !d.isNaN else { return nil }
        var text = d.description
        var negative = false
        if text.hasPrefix("-") { negative = true; text.removeFirst() }
        var units: Int128 = 0, fraction = 0, seenPoint = false
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            guard let n = Int(text[text.index(after: e)...]) else { return nil }
            exponent = n
            text = String(text[..<e])
        }
        for byte in text.utf8 {
            if byte == UInt8(ascii: ".") { seenPoint = true; continue }
            guard byte >= 48, byte <= 57 else { return nil }
            let (m, o1) = units.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int128(byte - 48))
            if o1 || o2 { return nil }
            units = s
            if seenPoint { fraction += 1 }
        }
        return (negative ? -units : units, exponent - fraction)
    }

    static func power10(_ n: Int) -> Int128? {
        guard n >= 0, n <= 38 else { return nil }
        var p: Int128 = 1
        for _ in 0..<n { p *= 10 }
        return p
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
        var sum: Int64 = 0
        for w in weights {
            let (s, overflow) = sum.addingReportingOverflow(max(0, w))
            guard !overflow else { return nil }
            sum = s
        }
        guard sum > 0 else { return total == 0 ? weights.map { _ in 0 } : nil }
        guard total != .min else { return nil }
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
