// Exact decimal numbers for money and every other "Float" field of the API documents.
// A value is kept as an integer and a power of ten (`1999 x 10^-2`) whenever it fits in 64 bits,
// which is all money, so reading and writing it is integer work; larger values fall back to
// Foundation's `Decimal`, which also does the arithmetic. Parsing is strict (no silent
// truncation of "12abc"), and the number of fraction digits the source gave is remembered, so
// "16.6600" is written back as "16.6600".
import Foundation

public struct ExactDecimal: Sendable, Hashable, Comparable, CustomStringConvertible {
    private enum Storage: Sendable {
        /// units x 10^exponent, shown with at least max(0, -exponent) + `extraScale` fraction
        /// digits (a parsed value's scale is its own digits, so `extraScale` is 0). Every field
        /// of every record may be one, so this is kept within 16 bytes: a `Value` is as large
        /// as its largest case.
        case small(units: Int64, exponent: Int32, extraScale: Int16)
        /// Anything else: boxed, as it is rare.
        case big(Big)
    }

    private final class Big: Sendable {
        let value: Decimal
        let scale: Int
        init(_ value: Decimal, scale: Int) {
            self.value = value
            self.scale = scale
        }
    }

    private var storage: Storage

    /// Fraction digits to show at least (the source's own digits).
    public var scale: Int {
        get {
            switch storage {
            case .small(_, let exponent, let extra): max(0, -Int(exponent)) + Int(extra)
            case .big(let big): big.scale
            }
        }
        set {
            let scale = max(0, newValue)
            switch storage {
            case .small(let units, let exponent, _): storage = Self.storage(units: units, exponent: Int(exponent), scale: scale)
            case .big(let big): storage = .big(Big(big.value, scale: scale))
            }
        }
    }

    /// `units` x 10^`exponent`, small when the exponent and the scale fit.
    private static func storage(units: Int64, exponent: Int, scale: Int) -> Storage {
        if let e = Int32(exactly: exponent), let extra = Int16(exactly: scale - max(0, -exponent)) {
            return .small(units: units, exponent: e, extraScale: extra)
        }
        return .big(Big(Decimal(sign: units < 0 ? .minus : .plus, exponent: exponent, significand: Decimal(units.magnitude)), scale: scale))
    }

    public init(_ value: Decimal, scale: Int = 0) {
        let scale = max(0, scale)
        if let (units, exponent) = Self.small(from: value) {
            storage = Self.storage(units: units, exponent: exponent, scale: scale)
        } else {
            storage = .big(Big(value, scale: scale))
        }
    }

    public init(_ integer: Int64) {
        storage = .small(units: integer, exponent: 0, extraScale: 0)
    }

    /// The value as a Foundation `Decimal`, for arithmetic.
    public var value: Decimal {
        get {
            switch storage {
            case .big(let big): return big.value
            case .small(let units, let exponent, _):
                return Decimal(sign: units < 0 ? .minus : .plus, exponent: Int(exponent), significand: Decimal(units.magnitude))
            }
        }
        set {
            self = ExactDecimal(newValue, scale: scale)
        }
    }

    private static func small(from d: Decimal) -> (units: Int64, exponent: Int)? {
        guard !d.isNaN else { return nil }
        if d.isZero { return (0, 0) }
        // Decimal's own text is exact; reading it back as digits is the portable way in.
        var text = d.description
        var negative = false
        if text.hasPrefix("-") { negative = true; text.removeFirst() }
        var units: Int64 = 0
        var fraction = 0
        var seenPoint = false
        for byte in text.utf8 {
            if byte == UInt8(ascii: ".") { seenPoint = true; continue }
            guard byte >= 48, byte <= 57 else { return nil }
            let (m, o1) = units.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64(byte - 48))
            if o1 || o2 { return nil }
            units = a
            if seenPoint { fraction += 1 }
        }
        return (negative ? -units : units, -fraction)
    }

    /// Parses a plain decimal literal: optional sign, digits, optional fraction. No exponent
    /// unless `allowExponent` (JSON numbers may carry one), no spaces, no thousands separators.
    public init?(parsing text: some StringProtocol, allowExponent: Bool = false) {
        guard let parsed = Array(text.utf8).withUnsafeBufferPointer({ ExactDecimal(utf8: $0, allowExponent: allowExponent) }) else { return nil }
        self = parsed
    }

    /// `init(parsing:)` on the UTF-8 bytes of the literal (a reader's buffer, no `String` made).
    public init?(utf8: UnsafeBufferPointer<UInt8>, allowExponent: Bool = false) {
        var units: Int64 = 0
        var overflow = false
        var negative = false
        var sawDigit = false
        var sawPoint = false
        var fractionDigits = 0
        var exponent = 0
        var i = 0
        if i < utf8.count, utf8[i] == UInt8(ascii: "-") || utf8[i] == UInt8(ascii: "+") {
            negative = utf8[i] == UInt8(ascii: "-")
            i += 1
        }
        while i < utf8.count {
            let byte = utf8[i]
            if byte >= 48, byte <= 57 {
                sawDigit = true
                if sawPoint { fractionDigits += 1 }
                let (m, o1) = units.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int64(byte - 48))
                if o1 || o2 { overflow = true } else { units = a }
            } else if byte == UInt8(ascii: "."), !sawPoint {
                sawPoint = true
            } else if allowExponent, byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E"), sawDigit {
                guard let e = Int(String(decoding: utf8[(i + 1)...], as: UTF8.self)), abs(e) < 100 else { return nil }
                exponent = e
                break
            } else {
                return nil
            }
            i += 1
        }
        guard sawDigit else { return nil }
        // Foundation's Decimal keeps 38 significant digits; more would be rounded without a word.
        if overflow, utf8.prefix(while: { $0 != 101 && $0 != 69 }).drop(while: { !(49...57).contains($0) }).filter({ (48...57).contains($0) }).count > 38 {
            return nil
        }
        let scale = max(0, fractionDigits - exponent)
        if !overflow {
            storage = Self.storage(units: negative ? -units : units, exponent: exponent - fractionDigits, scale: scale)
            return
        }
        let mantissaText = String(decoding: utf8[..<(exponent != 0 ? (utf8.firstIndex { $0 == 101 || $0 == 69 } ?? utf8.count) : utf8.count)], as: UTF8.self)
        guard var decimal = Decimal(string: mantissaText, locale: Locale(identifier: "en_US_POSIX")) else { return nil }
        if exponent != 0 { decimal = decimal * Decimal(sign: .plus, exponent: exponent, significand: 1) }
        storage = .big(Big(decimal, scale: scale))
    }

    /// Plain notation, never an exponent, at least `scale` fraction digits.
    public var description: String {
        var out: [UInt8] = []
        write(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the text of `description`; integer work for values that fit in 64 bits, as this
    /// runs for every decimal cell of every output.
    public func write<Out: ByteOutput & ~Copyable>(into out: inout Out) {
        // The usual case (a value read from a source: its own digits, at most 19 after the
        // point): the digits straight into the output, written from the last.
        if case .small(let units, let exponent, let extra) = storage, exponent <= 0, exponent >= -19, extra >= 0, extra <= 24 {
            let magnitude = units.magnitude
            let fraction = Int(-exponent)
            let digits = max(decimalDigitCount(magnitude), fraction + 1)
            let point = fraction + Int(extra) > 0
            let length = (units < 0 ? 1 : 0) + digits + (point ? 1 : 0) + Int(extra)
            out.append(upTo: length) { start in
                var p = start + length
                var m = magnitude
                for _ in 0..<Int(extra) { p -= 1; p.pointee = UInt8(ascii: "0") }
                for _ in 0..<fraction {
                    p -= 1
                    p.pointee = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: m % 10)
                    m /= 10
                }
                if point { p -= 1; p.pointee = UInt8(ascii: ".") }
                p = storeDecimalDigits(m, endingAt: p)
                if units < 0 { p -= 1; p.pointee = UInt8(ascii: "-") }
                return length
            }
            return
        }
        writeInGeneral(into: &out)
    }

    /// `write` for every value: also large exponents, a scale below the value's own digits
    /// (trailing zeros dropped), and values beyond 64 bits.
    func writeInGeneral<Out: ByteOutput & ~Copyable>(into out: inout Out) {
        guard case .small(let units, let smallExponent, _) = storage else {
            out.append(slowDescription)
            return
        }
        var exponent = Int(smallExponent)
        let scale = self.scale
        var magnitude = units.magnitude
        if magnitude == 0 { exponent = min(exponent, 0) }
        // Trailing zeros beyond what the scale asks for are not shown.
        while magnitude != 0, magnitude % 10 == 0, -exponent > scale {
            magnitude /= 10
            exponent += 1
        }
        if units < 0, magnitude != 0 { out.append(UInt8(ascii: "-")) }
        let fraction = -exponent
        withDecimalDigits(magnitude) { digits in
            let count = digits.count
            if exponent >= 0 {
                out.append(bytes: digits)
                if magnitude != 0 { out.append(UInt8(ascii: "0"), count: exponent) }
                if scale > 0 {
                    out.append(UInt8(ascii: "."))
                    out.append(UInt8(ascii: "0"), count: scale)
                }
            } else if count > fraction {
                // The point goes before the last `fraction` digits.
                out.append(bytes: UnsafeBufferPointer(rebasing: digits[..<(count - fraction)]))
                out.append(UInt8(ascii: "."))
                out.append(bytes: UnsafeBufferPointer(rebasing: digits[(count - fraction)...]))
            } else {
                // 0.00ddd
                out.append(UInt8(ascii: "0"))
                out.append(UInt8(ascii: "."))
                out.append(UInt8(ascii: "0"), count: fraction - count)
                out.append(bytes: digits)
            }
        }
        guard exponent < 0 else { return }
        if fraction < scale { out.append(UInt8(ascii: "0"), count: scale - fraction) }
    }

    /// Significant digits of the value (no leading or trailing zeros).
    public var significantDigits: Int {
        guard case .small(let units, _, _) = storage else {
            // Leading and trailing zeros are not significant, here as below.
            let digits = slowDescription.utf8.filter { $0 >= 48 && $0 <= 57 }.drop { $0 == 48 }
            return digits.count - digits.reversed().prefix { $0 == 48 }.count
        }
        var m = units.magnitude
        guard m != 0 else { return 0 }
        while m % 10 == 0 { m /= 10 }
        var n = 0
        while m > 0 { n += 1; m /= 10 }
        return n
    }

    /// The nearest `Double`, for storage that only holds binary numbers (SQLite REAL). Correctly
    /// rounded from the decimal text, so 15 significant digits always read back the same.
    public var nearestDouble: Double? {
        quotient(below: 1 << 53) ?? Double(description)
    }

    /// `nearestDouble` for a value of at most 15 significant digits, which any such value reads
    /// back from digit for digit; nil for a longer one. (Below 10^15 in whole units of its last
    /// digit, the count of digits need not be taken.)
    public var doubleOf15Digits: Double? {
        quotient(below: 1_000_000_000_000_000) ?? (significantDigits <= 15 ? nearestDouble : nil)
    }

    /// The value as units divided by a power of ten, when the units are below `limit` (at most
    /// 2^53) and the power exact as a `Double` (10^22 at most): IEEE division then rounds
    /// correctly. Nil for any other value.
    private func quotient(below limit: UInt64) -> Double? {
        guard case .small(let units, let exponent, _) = storage, units.magnitude < limit, exponent <= 0, exponent >= -22 else { return nil }
        return Double(units) / Self.powersOfTen[-Int(exponent)]
    }

    private static let powersOfTen: [Double] = (0...22).map { pow(10.0, Double($0)) }

    private var slowDescription: String {
        var text = value.description
        if text.hasPrefix("-"), value.isZero { text.removeFirst() }
        guard scale > 0 else { return text }
        if let dot = text.firstIndex(of: ".") {
            let have = text.distance(from: text.index(after: dot), to: text.endIndex)
            if have < scale { text += String(repeating: "0", count: scale - have) }
        } else {
            text += "." + String(repeating: "0", count: scale)
        }
        return text
    }

    public static func == (lhs: ExactDecimal, rhs: ExactDecimal) -> Bool {
        if case .small(let a, let ea, _) = lhs.storage, case .small(let b, let eb, _) = rhs.storage, ea == eb { return a == b }
        return lhs.value == rhs.value
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(value) }
    public static func < (lhs: ExactDecimal, rhs: ExactDecimal) -> Bool { lhs.value < rhs.value }
}

/// How many decimal digits `value` has (1 for zero).
@inline(__always) func decimalDigitCount(_ value: UInt64) -> Int {
    var count = 1
    var limit: UInt64 = 10
    while count < 20, value >= limit {
        count += 1
        limit &*= 10
    }
    return count
}

/// The decimal digits of `value`, most significant first, in a buffer on the stack: numbers are
/// written for every cell of every output, so without a temporary array or a reversal.
@inline(__always) func withDecimalDigits<R>(_ value: UInt64, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
        let end = buffer.baseAddress! + 20
        let start = storeDecimalDigits(value, endingAt: end)
        return body(UnsafeBufferPointer(start: start, count: end - start))
    }
}

/// Stores `value`'s decimal digits (at least one) in the bytes just before `end`, the last
/// digit last; returns where they start.
@inline(__always) func storeDecimalDigits(_ value: UInt64, endingAt end: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
    var p = end
    var m = value
    repeat {
        p -= 1
        p.pointee = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: m % 10)
        m /= 10
    } while m > 0
    return p
}
