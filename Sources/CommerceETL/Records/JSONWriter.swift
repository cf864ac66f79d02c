// Writes values as JSON text. Hand-written rather than `JSONEncoder` because records keep
// their field order and decimals must be written digit for digit, never through `Double`.

public enum JSONWriter {
    public static func write<Out: ByteOutput & ~Copyable>(_ value: Value, into out: inout Out) {
        switch value {
        case .null: out.append("null")
        case .bool(let b): out.append(b ? "true" : "false")
        case .integer(let i): writeInteger(i, into: &out)
        case .decimal(let d): d.write(into: &out)
        case .string(let s): writeString(s, into: &out)
        case .dateTime(let t):
            out.append(34)
            t.write(into: &out)
            out.append(34)
        case .date(let d):
            out.append(34)
            d.write(into: &out)
            out.append(34)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            items.withUnsafeBufferPointer { items in
                for i in items.indices {
                    if i > 0 { out.append(UInt8(ascii: ",")) }
                    write(items[i], into: &out)
                }
            }
            out.append(UInt8(ascii: "]"))
        case .object(let record):
            write(record, into: &out)
        }
    }

    public static func write<Out: ByteOutput & ~Copyable>(_ record: Record, into out: inout Out) {
        out.append(UInt8(ascii: "{"))
        // Through the storage of the keys and values: iterating the pairs copies each.
        record.fields.keys.elements.withUnsafeBufferPointer { keys in
            record.fields.values.withUnsafeBufferPointer { values in
                for i in keys.indices {
                    if i > 0 { out.append(UInt8(ascii: ",")) }
                    writeString(keys[i], into: &out)
                    out.append(UInt8(ascii: ":"))
                    write(values[i], into: &out)
                }
            }
        }
        out.append(UInt8(ascii: "}"))
    }

    private static let hex = Array("0123456789abcdef".utf8)

    public static func writeInteger<Out: ByteOutput & ~Copyable>(_ n: Int64, into out: inout Out) {
        let magnitude = n.magnitude
        let length = (n < 0 ? 1 : 0) + decimalDigitCount(magnitude)
        out.append(upTo: length) { start in
            _ = storeDecimalDigits(magnitude, endingAt: start + length)
            if n < 0 { start.pointee = UInt8(ascii: "-") }
            return length
        }
    }

    public static func writeString<Out: ByteOutput & ~Copyable>(_ s: String, into out: inout Out) {
        out.append(UInt8(ascii: "\""))
        let utf8 = s.utf8
        let plain = utf8.withContiguousStorageIfAvailable { bytes -> Bool in
            for b in bytes where b < 0x20 || b == 34 || b == 92 { return false }
            return true
        } ?? !utf8.contains(where: { $0 < 0x20 || $0 == 34 || $0 == 92 })
        if plain {
            out.append(s)
            out.append(UInt8(ascii: "\""))
            return
        }
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(92); out.append(34)
            case UInt8(ascii: "\\"): out.append(92); out.append(92)
            case 0x0A: out.append(92); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(92); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(92); out.append(UInt8(ascii: "t"))
            case 0..<0x20:
                for b in [92, UInt8(ascii: "u"), 48, 48, hex[Int(byte >> 4)], hex[Int(byte & 15)]] { out.append(b) }
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

extension JSONWriter {
    /// The value as indented JSON (two spaces), keys in their order: for files people read and diff.
    public static func pretty(_ value: Value) -> String {
        var out: [UInt8] = []
        pretty(value, depth: 0, into: &out)
        out.append(10)
        return String(decoding: out, as: UTF8.self)
    }

    private static func pretty(_ value: Value, depth: Int, into out: inout [UInt8]) {
        let inner = Array(repeating: UInt8(ascii: " "), count: 2 * (depth + 1))
        switch value {
        case .array(let items) where !items.isEmpty:
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                out.append(contentsOf: (i > 0 ? ",\n" : "\n").utf8)
                out.append(contentsOf: inner)
                pretty(item, depth: depth + 1, into: &out)
            }
            out.append(10)
            out.append(contentsOf: inner.dropLast(2))
            out.append(UInt8(ascii: "]"))
        case .object(let record) where !record.fields.isEmpty:
            out.append(UInt8(ascii: "{"))
            for (i, (key, item)) in record.fields.enumerated() {
                out.append(contentsOf: (i > 0 ? ",\n" : "\n").utf8)
                out.append(contentsOf: inner)
                writeString(key, into: &out)
                out.append(contentsOf: ": ".utf8)
                pretty(item, depth: depth + 1, into: &out)
            }
            out.append(10)
            out.append(contentsOf: inner.dropLast(2))
            out.append(UInt8(ascii: "}"))
        default:
            write(value, into: &out)
        }
    }
}
