// Reads JSON text into record values. Hand-written rather than `JSONSerialization` so that
// numbers are taken from their text (an integer stays an integer, anything with a fraction or
// exponent becomes an exact decimal, never a `Double`) and object keys keep their order.
import OrderedCollections

public struct JSONSyntaxError: Error, CustomStringConvertible, Equatable {
    public var offset: Int
    public var message: String
    public var description: String { "JSON error at byte \(offset): \(message)" }
}

public struct JSONReader {
    private let bytes: [UInt8]
    private var i = 0
    private var depth = 0
    private var invalidUTF8 = 0
    /// Objects and arrays open at once: deeper input is refused rather than risk the stack of
    /// every recursive reader of the value (writers, comparisons, deallocation).
    public static let maxDepth = 100

    public static func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> Value {
        var invalid = 0
        return try parse(bytes, invalidUTF8: &invalid)
    }

    /// Parses and adds to `invalidUTF8` the number of strings that held invalid UTF-8 (each such
    /// sequence is replaced by U+FFFD).
    public static func parse(_ bytes: [UInt8], invalidUTF8: inout Int) throws(JSONSyntaxError) -> Value {
        var reader = JSONReader(bytes: bytes)
        reader.skipSpace()
        let value = try reader.value()
        reader.skipSpace()
        guard reader.i == bytes.count else { throw reader.error("unexpected text after the JSON value") }
        invalidUTF8 += reader.invalidUTF8
        return value
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private func error(_ message: String) -> JSONSyntaxError { JSONSyntaxError(offset: i, message: message) }

    private mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 32 || bytes[i] == 10 || bytes[i] == 13 || bytes[i] == 9 { i += 1 }
    }

    private mutating func expect(_ literal: StaticString, _ value: Value) throws(JSONSyntaxError) -> Value {
        let count = literal.utf8CodeUnitCount
        guard i + count <= bytes.count else { throw error("the JSON ends early") }
        let matches = literal.withUTF8Buffer { lit in (0..<count).allSatisfy { bytes[i + $0] == lit[$0] } }
        guard matches else { throw error("unexpected character") }
        i += count
        return value
    }

    private mutating func value() throws(JSONSyntaxError) -> Value {
        guard i < bytes.count else { throw error("the JSON ends early") }
        switch bytes[i] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try expect("true", .bool(true))
        case UInt8(ascii: "f"): return try expect("false", .bool(false))
        case UInt8(ascii: "n"): return try expect("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw error("unexpected character '\(Character(Unicode.Scalar(bytes[i])))'")
        }
    }

    private mutating func nest() throws(JSONSyntaxError) {
        depth += 1
        if depth > Self.maxDepth { throw error("objects and arrays nested more than \(Self.maxDepth) levels deep") }
    }

    private mutating func object() throws(JSONSyntaxError) -> Value {
        try nest()
        i += 1
        var fields = OrderedDictionary<String, Value>()
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
            i += 1
            depth -= 1
            return .object(Record(fields))
        }
        while true {
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw error("expected a quoted key") }
            let key = try string()
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw error("expected ':' after a key") }
            i += 1
            skipSpace()
            fields[key] = try value()
            skipSpace()
            guard i < bytes.count else { throw error("the JSON ends inside an object") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "}") { i += 1; break }
            throw error("expected ',' or '}'")
        }
        depth -= 1
        return .object(Record(fields))
    }

    private mutating func array() throws(JSONSyntaxError) -> Value {
        try nest()
        i += 1
        var items: [Value] = []
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
            i += 1
            depth -= 1
            return .array(items)
        }
        while true {
            skipSpace()
            items.append(try value())
            skipSpace()
            guard i < bytes.count else { throw error("the JSON ends inside an array") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "]") { i += 1; break }
            throw error("expected ',' or ']'")
        }
        depth -= 1
        return .array(items)
    }

    private mutating func number() throws(JSONSyntaxError) -> Value {
        let start = i
        if bytes[i] == UInt8(ascii: "-") { i += 1 }
        var integral = true
        while i < bytes.count {
            let b = bytes[i]
            if b >= 48, b <= 57 {
                i += 1
            } else if b == UInt8(ascii: ".") || b == UInt8(ascii: "e") || b == UInt8(ascii: "E") || b == UInt8(ascii: "+") || b == UInt8(ascii: "-") {
                integral = false
                i += 1
            } else {
                break
            }
        }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        if integral, let n = Int64(text) { return .integer(n) }
        guard let d = ExactDecimal(parsing: text, allowExponent: true) else { throw JSONSyntaxError(offset: start, message: "bad number '\(text)'") }
        return .decimal(d)
    }

    private mutating func string() throws(JSONSyntaxError) -> String {
        i += 1
        let start = i
        // Fast path: no escapes.
        while i < bytes.count, bytes[i] != UInt8(ascii: "\""), bytes[i] != UInt8(ascii: "\\") { i += 1 }
        guard i < bytes.count else { throw error("the JSON ends inside a string") }
        if bytes[i] == UInt8(ascii: "\"") {
            i += 1
            return text(bytes[start..<(i - 1)])
        }
        var out = Array(bytes[start..<i])
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                i += 1
                return text(out[...])
            }
            if b != UInt8(ascii: "\\") {
                out.append(b)
                i += 1
                continue
            }
            i += 1
            guard i < bytes.count else { break }
            switch bytes[i] {
            case UInt8(ascii: "\""): out.append(34)
            case UInt8(ascii: "\\"): out.append(92)
            case UInt8(ascii: "/"): out.append(47)
            case UInt8(ascii: "b"): out.append(8)
            case UInt8(ascii: "f"): out.append(12)
            case UInt8(ascii: "n"): out.append(10)
            case UInt8(ascii: "r"): out.append(13)
            case UInt8(ascii: "t"): out.append(9)
            case UInt8(ascii: "u"):
                var scalar = try hex4(i + 1)
                i += 4
                if (0xD800..<0xDC00).contains(scalar), i + 6 < bytes.count, bytes[i + 1] == 92, bytes[i + 2] == UInt8(ascii: "u") {
                    let low = try hex4(i + 3)
                    if (0xDC00..<0xE000).contains(low) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        i += 6
                    }
                }
                out.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar) ?? "\u{FFFD}")).utf8))
            default: throw error("bad escape in a string")
            }
            i += 1
        }
        throw error("the JSON ends inside a string")
    }

    private mutating func text(_ bytes: ArraySlice<UInt8>) -> String {
        if let s = bytes.withUnsafeBufferPointer({ String(validatingUTF8Bytes: $0) }) { return s }
        invalidUTF8 += 1
        return String(decoding: bytes, as: UTF8.self)
    }

    private func hex4(_ at: Int) throws(JSONSyntaxError) -> UInt32 {
        guard at + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[at..<(at + 4)], as: UTF8.self), radix: 16) else {
            throw JSONSyntaxError(offset: at, message: "bad \\u escape")
        }
        return v
    }
}
