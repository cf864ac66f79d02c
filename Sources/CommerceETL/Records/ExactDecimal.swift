// Exact decimal numbers for money and every other "Float" field of the API documents.
// Foundation's `Decimal` does the arithmetic; this type adds strict parsing (no silent
// truncation of "12abc") and remembers how many fraction digits the source gave, so
// "16.6600" is written back as "16.6600".
import Foundation

public struct ExactDecimal: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var value: Decimal
    /// Fraction digits to show at least (the source's own digits).
    public var scale: Int

    public init(_ value: Decimal, scale: Int = 0) {
        self.value = value
        self.scale = max(0, scale)
    }

    public init(_ integer: Int64) {
        self.init(Decimal(integer), scale: 0)
    }

    /// Parses a plain decimal literal: optional sign, digits, optional fraction. No exponent
    /// unless `allowExponent` (JSON numbers may carry one), no spaces, no thousands separators.
    public init?(parsing text: some StringProtocol, allowExponent: Bool = false) {
        var sawDigit = false
        var sawPoint = false
        var fractionDigits = 0
        var index = text.utf8.startIndex
        let utf8 = text.utf8
        if index < utf8.endIndex, utf8[index] == UInt8(ascii: "-") || utf8[index] == UInt8(ascii: "+") {
            index = utf8.index(after: index)
        }
        var exponentStart: String.Index? = nil
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                sawDigit = true
                if sawPoint { fractionDigits += 1 }
            } else if byte == UInt8(ascii: "."), !sawPoint {
                sawPoint = true
            } else if allowExponent, byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E"), sawDigit {
                exponentStart = index
                break
            } else {
                return nil
            }
            index = utf8.index(after: index)
        }
        guard sawDigit else { return nil }
        var exponent = 0
        if let start = exponentStart {
            let rest = text[text.index(after: start)...]
            guard let e = Int(rest), abs(e) < 100 else { return nil }
            exponent = e
        }
        let mantissaText = exponentStart.map { String(text[..<$0]) } ?? String(text)
        guard var decimal = Decimal(string: mantissaText, locale: Self.posix) else { return nil }
        if exponent != 0 {
            decimal = decimal * Decimal(sign: .plus, exponent: exponent, significand: 1)
        }
        self.init(decimal, scale: max(0, fractionDigits - exponent))
    }

    private static let posix = Locale(identifier: "en_US_POSIX")

    /// Plain notation, never an exponent, at least `scale` fraction digits.
    public var description: String {
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

    public static func == (lhs: ExactDecimal, rhs: ExactDecimal) -> Bool { lhs.value == rhs.value }
    public func hash(into hasher: inout Hasher) { hasher.combine(value) }
    public static func < (lhs: ExactDecimal, rhs: ExactDecimal) -> Bool { lhs.value < rhs.value }
}
