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

    /// The columns `records` need that the table lacks (typed by the first value that is not null;
    /// a field that is null in every record gets its column when it first holds a value).
    func missingColumns(_ records: [Record]) -> [(String, String)] {
        var added = OrderedDictionary<String, String>()
        for record in records {
            for (field, value) in record.fields where columns[field] == nil && added[field] == nil {
                if let type = Self.type(of: value) { added[field] = type }
            }
        }
        return added.map { ($0.key, $0.value) }
    }

    mutating func noteCreated(_ added: [(String, String)]) {
        exists = true
        for (column, type) in added { columns[column] = type }
    }

    /// Fails naming the table, column and value when a value does not fit its column.
    func check(_ records: [Record], key: [String]) throws {
        for record in records {
            for (field, value) in record.fields {
                guard case let type?? = columns[field] else { continue }
                if !Self.fits(value, type) {
                    throw ETLError("table '\(shownName)': column '\(field)' is \(type), but a record holds \(value.kindName) \(value.flatText.map { "'\($0.prefix(40))'" } ?? "")")
                }
                if case .string(let text) = value, text.utf8.contains(0) {
                    throw ETLError("table '\(shownName)': column '\(field)' gets text holding a NUL character, which PostgreSQL text cannot store")
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

    /// `records` as COPY text rows (tab-separated, `\N` for null, backslash escapes), in chunks.
    func encode(_ records: [Record], batch: Int64, chunk: (ByteBuffer) async throws -> Void) async throws {
        let names = copyColumns.dropLast()
        var out = ByteBuffer()
        out.reserveCapacity(1 << 17)
        var hints = names.map { _ in -1 }
        for record in records {
            for (i, column) in names.enumerated() {
                if i > 0 { out.writeInteger(UInt8(9)) }
                Self.write(record.field(column, hint: &hints[i]) ?? .null, into: &out)
            }
            out.writeInteger(UInt8(9))
            out.writeString(String(batch))
            out.writeInteger(UInt8(10))
            if out.readableBytes >= 1 << 16 {
                try await chunk(out)
                out = ByteBuffer()
                out.reserveCapacity(1 << 17)
            }
        }
        if out.readableBytes > 0 { try await chunk(out) }
    }

    private static func write(_ value: Value, into out: inout ByteBuffer) {
        switch value {
        case .null: out.writeStaticString("\\N")
        case .bool(let b): out.writeStaticString(b ? "t" : "f")
        case .integer(let n): out.writeString(String(n))
        case .decimal(let d): out.writeString(d.description)
        case .string(let text): escape(Array(text.utf8), into: &out)
        case .dateTime, .date:
            out.writeString(value.flatText ?? "")
        case .array, .object:
            var json: [UInt8] = []
            JSONWriter.write(value, into: &json)
            escape(json, into: &out)
        }
    }

    /// COPY text escapes: backslash, newline, carriage return and tab.
    private static func escape(_ bytes: [UInt8], into out: inout ByteBuffer) {
        guard bytes.contains(where: { $0 == 92 || $0 == 10 || $0 == 13 || $0 == 9 }) else {
            out.writeBytes(bytes)
            return
        }
        for b in bytes {
            switch b {
            case 92: out.writeStaticString("\\\\")
            case 10: out.writeStaticString("\\n")
            case 13: out.writeStaticString("\\r")
            case 9: out.writeStaticString("\\t")
            default: out.writeInteger(b)
            }
        }
    }
}
