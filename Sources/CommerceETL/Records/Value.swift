// The record value model every stage speaks. Money is `ExactDecimal`, never `Double`.
import OrderedCollections

public enum Value: Sendable, Hashable {
    case null
    case bool(Bool)
    case integer(Int64)
    case decimal(ExactDecimal)
    case string(String)
    case dateTime(Timestamp)
    case date(CalendarDate)
    case array([Value])
    /// Boxed, so that a `Value` is 24 bytes rather than 32 (a record is three references).
    indirect case object(Record)

    public var isNull: Bool { if case .null = self { true } else { false } }

    /// The value as text for flat outputs (CSV cells, SQLite TEXT): scalars as themselves,
    /// nested values as compact JSON, null as nil.
    public var flatText: String? {
        switch self {
        case .null: return nil
        case .bool(let b): return b ? "true" : "false"
        case .integer(let i): return String(i)
        case .decimal(let d): return d.description
        case .string(let s): return s
        case .dateTime(let t): return t.description
        case .date(let d): return d.description
        case .array, .object:
            var out: [UInt8] = []
            JSONWriter.write(self, into: &out)
            return String(decoding: out, as: UTF8.self)
        }
    }

    /// Appends `flatText`'s bytes (nothing for null), without building strings for numbers and dates.
    public func writeFlat<Out: ByteOutput & ~Copyable>(into out: inout Out) {
        switch self {
        case .null: return
        case .bool(let b): out.append(b ? "true" : "false")
        case .integer(let i): JSONWriter.writeInteger(i, into: &out)
        case .decimal(let d): d.write(into: &out)
        case .string(let s): out.append(s)
        case .dateTime(let t): t.write(into: &out)
        case .date(let d): d.write(into: &out)
        case .array, .object: JSONWriter.write(self, into: &out)
        }
    }

    /// A short name of the kind of value, for error messages.
    public var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .integer: "integer"
        case .decimal: "decimal"
        case .string: "string"
        case .dateTime: "date-time"
        case .date: "date"
        case .array: "array"
        case .object: "object"
        }
    }
}

/// An ordered map of field name to value; field order is the source's order and is kept
/// all the way to the outputs.
public struct Record: Sendable, Hashable, ExpressibleByDictionaryLiteral {
    public var fields: OrderedDictionary<String, Value>

    public init() { fields = [:] }
    public init(_ fields: OrderedDictionary<String, Value>) { self.fields = fields }
    public init(dictionaryLiteral elements: (String, Value)...) {
        fields = OrderedDictionary(uniqueKeysWithValues: elements)
    }

    public subscript(key: String) -> Value? {
        get { fields[key] }
        set { fields[key] = newValue }
    }

    /// The value at a dotted path (`order.Items.0.Price`); nil where any step is absent.
    public func value(at path: FieldPath) -> Value? {
        guard let first = path.components.first, var current = fields[first] else { return nil }
        for component in path.components.dropFirst() {
            switch current {
            case .object(let record):
                guard let next = record.fields[component] else { return nil }
                current = next
            case .array(let items):
                if let selector = FieldPath.Selector(component) {
                    guard let match = items.first(where: selector.matches) else { return nil }
                    current = match
                    continue
                }
                guard let index = Int(component), items.indices.contains(index) else { return nil }
                current = items[index]
            default:
                return nil
            }
        }
        return current
    }

    /// `value(at:)` trying first, at each step of the path, the place where the last record
    /// looked at held that name (records of one source nearly always keep their fields in the
    /// same places): one key comparison instead of hashing the name. For a stage reading the
    /// same paths from every record of a batch.
    public func value(at path: FieldPath, hints: inout PathHints) -> Value? {
        let components = path.components
        guard let first = components.first, hints.places.count == components.count,
              var current = Self.lookup(fields, first, &hints.places[0]) else { return value(at: path) }
        for k in components.indices.dropFirst() {
            switch current {
            case .object(let record):
                guard let next = Self.lookup(record.fields, components[k], &hints.places[k]) else { return nil }
                current = next
            case .array:
                return value(at: path)
            default:
                return nil
            }
        }
        return current
    }

    /// The field `key`, tried first at `hint` (the place the last record held it), which is
    /// updated when the field is elsewhere.
    public func field(_ key: String, hint: inout Int) -> Value? { Self.lookup(fields, key, &hint) }

    @inline(__always)
    private static func lookup(_ fields: OrderedDictionary<String, Value>, _ key: String, _ hint: inout Int) -> Value? {
        if hint >= 0, hint < fields.count, fields.keys[hint] == key { return fields.values[hint] }
        guard let index = fields.index(forKey: key) else { return nil }
        hint = index
        return fields.values[index]
    }

    /// Removes the value at a dotted path, if present.
    public mutating func removeValue(at path: FieldPath) {
        let components = path.components
        guard let first = components.first else { return }
        if components.count == 1 {
            fields.removeValue(forKey: first)
            return
        }
        guard case .object(var inner)? = fields[first] else { return }
        inner.removeValue(at: FieldPath(components: Array(components.dropFirst())))
        fields[first] = .object(inner)
    }
}

/// A dotted path into a record. Numeric components index arrays (`Items.0.Price`); a selector
/// picks the first element of an array whose field has a value (`ProductPrices[ISO=USD].Price`,
/// `Addresses[AddressType=DL].PostCode`), since the element wanted is not always at the same
/// position. A selector is kept as a component of its own, written `[FIELD=VALUE]`.
/// Where each step of a `FieldPath` was found in the last record (`Record.value(at:hints:)`).
public struct PathHints: Sendable {
    var places: [Int]
    public init(_ path: FieldPath) { places = Array(repeating: -1, count: path.components.count) }
}

public struct FieldPath: Sendable, Hashable, CustomStringConvertible {
    public var components: [String]

    public init(components: [String]) { self.components = components }

    /// Nil for an empty path, an empty component (`a..b`), or a selector that is not
    /// `[FIELD=VALUE]` after a field name.
    public init?(_ text: String) {
        // Split at dots outside brackets: a selector's value may hold dots (`[Price=1.50]`).
        var segments: [String] = []
        var current = ""
        var inSelector = false
        for c in text {
            switch c {
            case "[" where !inSelector: inSelector = true
            case "]" where inSelector: inSelector = false
            case "[", "]": return nil
            case "." where !inSelector:
                segments.append(current)
                current = ""
                continue
            default: break
            }
            current.append(c)
        }
        guard !inSelector else { return nil }
        segments.append(current)
        var parts: [String] = []
        for segment in segments {
            guard let open = segment.firstIndex(of: "[") else {
                guard !segment.isEmpty else { return nil }
                parts.append(segment)
                continue
            }
            let name = segment[..<open]
            guard !name.isEmpty else { return nil }
            parts.append(String(name))
            var rest = segment[open...]
            while !rest.isEmpty {
                guard rest.first == "[", let close = rest.firstIndex(of: "]") else { return nil }
                let selector = String(rest[...close])
                guard Selector(selector) != nil else { return nil }
                parts.append(selector)
                rest = rest[rest.index(after: close)...]
            }
        }
        guard !parts.isEmpty else { return nil }
        components = parts
    }

    public var description: String {
        var text = ""
        for (i, c) in components.enumerated() {
            if i > 0, !c.hasPrefix("[") { text += "." }
            text += c
        }
        return text
    }

    /// `[FIELD=VALUE]`: the first element that is an object whose FIELD (a dotted path) reads VALUE.
    struct Selector {
        let field: FieldPath
        let value: String

        init?(_ component: String) {
            guard component.hasPrefix("["), component.hasSuffix("]"), let eq = component.firstIndex(of: "=") else { return nil }
            let key = component[component.index(after: component.startIndex)..<eq]
            guard !key.contains("["), let field = FieldPath(String(key)) else { return nil }
            self.field = field
            value = String(component[component.index(after: eq)..<component.index(before: component.endIndex)])
        }

        func matches(_ element: Value) -> Bool {
            guard case .object(let record) = element else { return false }
            return record.value(at: field)?.flatText == value
        }
    }
}

extension Value {
    /// A field of an object value.
    public subscript(_ key: String) -> Value? {
        if case .object(let r) = self { return r[key] }
        return nil
    }

    public var int: Int? { if case .integer(let n) = self { Int(n) } else { nil } }
    public var string: String? { if case .string(let s) = self { s } else { nil } }
    public var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
}
