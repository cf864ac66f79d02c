// A table a `postgres:` load writes: its columns and their types, the check that a value fits
// its column, and rows in COPY's text format. Column types come from the records: integers
// `bigint`, exact decimals `numeric` (every digit kept), booleans `boolean`, date-times
// `timestamptz`, dates `date`, strings `text`, nested values `jsonb`.
import Foundation
import NIOCore
import OrderedCollections

struct PostgresTable {
    /// The column that numbers the checkpoint interval each row was written in, so rows past a
    /// checkpoint can be cut back on resume and an abandoned run's appended rows taken back.
    static let batchColumn = "_cetl_batch"

    /// The table's name in its schema (for a `replace` load, the table being built).
    let name: String
    /// The table as the pipeline names it, for messages.
    let shownName: String
    /// Columns in table order, with their types (`nil`: a type this load does not make; the
    /// server checks what goes into it).
    private(set) var columns: OrderedDictionary<String, String?> = [:]
    private(set) var exists: Bool

    init(name: String, shownName: String, existing: [(String, String)]?) {
        self.name = name
        self.shownName = shownName
        exists = existing != nil
        for (column, type) in existing ?? [] { columns[column] = Self.known(type) }
    }

    /// A type name as `format_type` gives it, if it is one this load makes.
    private static func known(_ dataType: String) -> String? {
        switch dataType {
        case "bigint", "numeric", "boolean", "date", "text", "jsonb": dataType
        case "timestamp with time zone": "timestamptz"
        default: nil
        }
    }

    static func type(of value: Value) -> String? {
        switch value {
        case .null: nil
        case .integer: "bigint"
        case .decimal: "numeric"
        case .bool: "boolean"
        case .dateTime: "timestamptz"
        case .date: "date"
        case .string: "text"
        case .array, .object: "jsonb"
        }
    }

    /// The last record shape seen: its field names in order and, for each, its column's entry
    /// (`.none`: no column yet), so records of one shape are checked without hashing their names.
    private var shapeKeys: [String] = []
    private var shapeTypes: [String??] = []
    private var shapeHasEveryColumn = false

    /// Whether `record` has the remembered shape, which it becomes otherwise.
    private mutating func adoptShape(of record: Record) -> Bool {
        let keys = record.fields.keys
        if keys.count == shapeKeys.count, keys.elementsEqual(shapeKeys) { return true }
        shapeKeys = Array(keys)
        shapeTypes = shapeKeys.map { columns[$0] }
        shapeHasEveryColumn = !shapeTypes.contains { $0 == nil }
        return false
    }

    /// The columns `records` need that the table lacks (typed by the first value that is not null;
    /// a field that is null in every record gets its column when it first holds a value).
    mutating func missingColumns(_ records: [Record]) -> [(String, String)] {
        var added = OrderedDictionary<String, String>()
        for record in records {
            if adoptShape(of: record), shapeHasEveryColumn { continue }
            for (field, value) in record.fields where columns[field] == nil && added[field] == nil {
                if let type = Self.type(of: value) { added[field] = type }
            }
        }
        return added.map { ($0.key, $0.value) }
    }

    mutating func noteCreated(_ added: [(String, String)]) {
        exists = true
        for (column, type) in added { columns[column] = type }
        shapeKeys = []
    }

    /// Fails naming the table, column and value when a value does not fit its column (text
    /// holding NUL, which PostgreSQL cannot store, is found while encoding).
    mutating func check(_ records: [Record], key: [String]) throws {
        for record in records {
            _ = adoptShape(of: record)
            let types = shapeTypes
            try record.fields.values.withUnsafeBufferPointer { values in
                for i in values.indices {
                    guard case let type?? = types[i], !Self.fits(values[i], type) else { continue }
                    let value = values[i]
                    throw ETLError("table '\(shownName)': column '\(shapeKeys[i])' is \(type), but a record holds \(value.kindName) \(value.flatText.map { "'\($0.prefix(40))'" } ?? "")")
                }
            }
            for k in key where (record.fields[k] ?? .null).isNull {
                throw ETLError("table '\(shownName)': key column '\(k)' is missing or null in a record")
            }
        }
    }

    private static func fits(_ value: Value, _ type: String) -> Bool {
        switch (value, type) {
        case (.null, _), (.integer, "bigint"), (.integer, "numeric"), (.decimal, "numeric"), (.bool, "boolean"),
             (.dateTime, "timestamptz"), (.date, "date"), (.string, "text"), (.array, "jsonb"), (.object, "jsonb"):
            true
        default:
            false
        }
    }

    /// The columns a COPY fills: every column of the table but the batch number, which comes last.
    var copyColumns: [String] { columns.keys.filter { $0 != Self.batchColumn } + [Self.batchColumn] }

    /// `records` as COPY text rows (tab-separated, `\\N` for null, backslash escapes), in chunks.
    func encode(_ records: [Record], batch: Int64) throws -> [ByteBuffer] {
        var chunks: [ByteBuffer] = []
        let names = Array(copyColumns.dropLast())
        var out = OutputBuffer(capacity: 1 << 17)
        var hints = names.map { _ in -1 }
        var batchText: [UInt8] = [9]
        JSONWriter.writeInteger(batch, into: &batchText)
        batchText.append(10)
        for record in records {
            let keys = record.fields.keys
            if keys.count == names.count, keys.elementsEqual(names) {
                // The usual case: the record's fields are the columns, in order.
                try record.fields.values.withUnsafeBufferPointer { values in
                    for i in values.indices {
                        if i > 0 { out.append(9) }
                        try write(values[i], column: names[i], into: &out)
                    }
                }
            } else {
                for (i, column) in names.enumerated() {
                    if i > 0 { out.append(9) }
                    try write(record.field(column, hint: &hints[i]) ?? .null, column: column, into: &out)
                }
            }
            batchText.withUnsafeBufferPointer { out.append(bytes: $0) }
            if out.count >= 1 << 16 {
                chunks.append(out.withBytes { ByteBuffer(bytes: $0) })
                out.removeAll()
            }
        }
        if out.count > 0 { chunks.append(out.withBytes { ByteBuffer(bytes: $0) }) }
        return chunks
    }

    private func write(_ value: Value, column: String, into out: inout OutputBuffer) throws {
        switch value {
        case .null: out.append(92); out.append(78)   // \N
        case .bool(let b): out.append(b ? UInt8(ascii: "t") : UInt8(ascii: "f"))
        case .integer(let n): JSONWriter.writeInteger(n, into: &out)
        case .decimal(let d): d.write(into: &out)
        case .dateTime(let t): t.write(into: &out)
        case .date(let d): d.write(into: &out)
        case .string(let text):
            var text = text
            try text.withUTF8 { try escape($0, column: column, into: &out) }
        case .array, .object:
            var json: [UInt8] = []
            JSONWriter.write(value, into: &json)
            try json.withUnsafeBufferPointer { try escape($0, column: column, into: &out) }
        }
    }

    /// COPY text escapes: backslash, newline, carriage return and tab; NUL cannot be stored.
    private func escape(_ bytes: UnsafeBufferPointer<UInt8>, column: String, into out: inout OutputBuffer) throws {
        var plain = true
        for b in bytes where b <= 13 || b == 92 {
            if b == 92 || b == 10 || b == 13 || b == 9 { plain = false }
            if b == 0 { throw ETLError("table '\(shownName)': column '\(column)' gets text holding a NUL character, which PostgreSQL text cannot store") }
        }
        guard !plain else {
            out.append(bytes: bytes)
            return
        }
        for b in bytes {
            switch b {
            case 92: out.append(92); out.append(92)
            case 10: out.append(92); out.append(UInt8(ascii: "n"))
            case 13: out.append(92); out.append(UInt8(ascii: "r"))
            case 9: out.append(92); out.append(UInt8(ascii: "t"))
            default: out.append(b)
            }
        }
    }
}
