import CSQLite
import Foundation
import OrderedCollections

/// One table being written: its columns and types, and the prepared insert.
final class SQLiteTable {
    let name: String
    let mode: SQLiteLoad.Mode
    let key: [String]
    /// How new decimal columns store their values (and decimals in a column of no declared type).
    let decimals: SQLiteLoad.Decimals
    private var columns: [String] = []
    private var types: [String: String] = [:]
    private var statement: SQLiteStatement? {
        didSet {
            positions = []
            positionKeys = []
            positionTypes = []
            positionKinds = []
            positionText = []
        }
    }
    private var created = false
    /// The last row shape seen: its fields, their parameter positions and column types. Rows
    /// of one source share a shape, so a row of that shape is bound without a lookup per field.
    private var positions: [Int] = []
    private var positionKeys: [String] = []
    private var positionTypes: [String?] = []
    /// For each field of that shape, the kinds of value its column takes (`Self.kinds(for:)`).
    private var positionKinds: [UInt16] = []
    /// For each field of that shape, whether a decimal goes in as its digits (`decimalsAsText`).
    private var positionText: [Bool] = []

    init(name: String, db: SQLiteDatabase, mode: SQLiteLoad.Mode, key: [String], decimals: SQLiteLoad.Decimals = .real, fresh: Bool) throws {
        self.name = name
        self.decimals = decimals
        self.mode = mode
        self.key = key
        if mode == .replace, fresh {
            try db.execute("DROP TABLE IF EXISTS \(SQLiteDatabase.quote(name))")
            // Child tables of the old table go too; they are rebuilt from this run's records.
            for child in try Self.tables(prefix: name + "__", db: db) { try db.execute("DROP TABLE IF EXISTS \(SQLiteDatabase.quote(child))") }
        } else if try Self.exists(name, db: db) {
            created = true
            let info = try db.prepare("SELECT name, type FROM pragma_table_info(?)")
            info.bind(1, name)
            for row in try info.rows() {
                columns.append(row[0] ?? "")
                types[row[0] ?? ""] = (row[1] ?? "").uppercased()
            }
        }
    }

    static func exists(_ name: String, db: SQLiteDatabase) throws -> Bool {
        let q = try db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?")
        q.bind(1, name)
        return try !q.rows().isEmpty
    }

    static func tables(prefix: String, db: SQLiteDatabase) throws -> [String] {
        let q = try db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND substr(name, 1, ?) = ?")
        q.bind(1, Int64(prefix.count))
        q.bind(2, prefix)
        return try q.rows().compactMap { $0[0] }
    }

    static func declaredType(_ value: Value) -> String? {
        switch value {
        case .integer, .bool: "INTEGER"
        case .decimal: "DECIMAL"
        case .string, .dateTime, .date, .array, .object: "TEXT"
        case .null: nil
        }
    }

    /// A decimal column that keeps its values' digits: the name gives it TEXT affinity in
    /// SQLite (it contains "TEXT", not "INT"), so `1.90` is not turned into the number 1.9.
    static let decimalText = "DECIMAL TEXT"

    /// The declared type of a column made for this value.
    private func newColumnType(_ value: Value) -> String {
        if case .decimal = value, decimals == .text { return Self.decimalText }
        return Self.declaredType(value) ?? ""
    }

    /// Whether decimals go into a column of this declared type as their digits: its type says
    /// so, or it has none and the load's `decimals` is `text`.
    private func decimalsAsText(_ type: String?) -> Bool {
        type == Self.decimalText || ((type ?? "").isEmpty && decimals == .text)
    }

    /// The table as the pipeline names it, for messages (not the table a `replace` load builds).
    var shownName: String {
        mode == .replace && name.hasPrefix(SQLiteLoad.buildingPrefix) ? String(name.dropFirst(SQLiteLoad.buildingPrefix.count)) : name
    }

    func release() { statement = nil }

    /// Creates the table if no row did (a run with no records still leaves the table).
    func ensureCreated(_ db: SQLiteDatabase) throws {
        guard !created else { return }
        try create(key.isEmpty ? [("_empty", "TEXT")] : key.map { ($0, "") }, db: db)
    }

    private func create(_ all: [(String, String)], db: SQLiteDatabase) throws {
        var defs = all.map { $0.1.isEmpty ? SQLiteDatabase.quote($0.0) : "\(SQLiteDatabase.quote($0.0)) \($0.1)" }
        if !key.isEmpty { defs.append("PRIMARY KEY (\(key.map(SQLiteDatabase.quote).joined(separator: ", ")))") }
        try db.execute("CREATE TABLE \(SQLiteDatabase.quote(name)) (\(defs.joined(separator: ", ")))")
        created = true
        for (c, t) in all { columns.append(c); types[c] = t }
        statement = nil
    }

    /// Inserts one row that is a record's fields as they are (the common case: no child
    /// tables, no upsert). Rows of the last shape are bound straight from the record's storage,
    /// their types checked against a bit mask: no field copied, no type name compared.
    func write(fields: OrderedDictionary<String, Value>, db: SQLiteDatabase) throws -> Int64 {
        let keys = fields.keys.elements, values = fields.values.elements
        guard let statement, keys == positionKeys else {
            let rowid = try write(fields.elements, db: db)
            // The shape's keys become this record's own storage, which the records of one
            // source share: the next row's comparison is then an identity check.
            if keys == positionKeys { positionKeys = keys }
            return rowid
        }
        try positions.withUnsafeBufferPointer { positions in
            try positionKinds.withUnsafeBufferPointer { kinds in
                try values.withUnsafeBufferPointer { values in
                    for k in 0..<values.count {
                        let i = positions[k]
                        guard i >= 0 else { continue }
                        // Read in place: no copy (a retain and a release) of each value.
                        let value = values.baseAddress.unsafelyUnwrapped + k
                        if kinds[k] & Self.kind(value.pointee) == 0 { try check(value.pointee, keys[k], type: positionTypes[k]) }
                        try Self.bind(at: value, Int32(i + 1), statement, column: keys, k, decimalText: positionText[k])
                    }
                }
            }
        }
        try statement.run()
        return sqlite3_last_insert_rowid(db.handle)
    }

    private static func kind(_ value: Value) -> UInt16 {
        switch value {
        case .null: 1 << 0
        case .bool: 1 << 1
        case .integer: 1 << 2
        case .decimal: 1 << 3
        case .string: 1 << 4
        case .dateTime: 1 << 5
        case .date: 1 << 6
        case .array: 1 << 7
        case .object: 1 << 8
        }
    }

    /// One value of each kind, in `kind(_:)`'s bit order, to derive the masks from `fits`.
    private static let samples: [Value] = [.null, .bool(true), .integer(0), .decimal(ExactDecimal(0)), .string(""),
                                           .dateTime(Timestamp(epochSeconds: 0)), .date(CalendarDate(year: 2000, month: 1, day: 1)),
                                           .array([]), .object(Record())]

    /// The kinds of value `fits` lets into a column of this declared type.
    private static func kinds(for type: String?) -> UInt16 {
        samples.reduce(0) { mask, sample in fits(sample, type: type) ? mask | kind(sample) : mask }
    }

    /// Inserts (or upserts) one row (a record's fields, or columns built for a child row);
    /// returns its rowid.
    func write<Row: RandomAccessCollection>(_ row: Row, db: SQLiteDatabase) throws -> Int64
    where Row.Element == (key: String, value: Value), Row.Index == Int {
        if let statement, sameShape(row) {
            let positions = self.positions, types = self.positionTypes
            for k in 0..<row.count {
                let i = positions[k]
                guard i >= 0 else { continue }
                let (column, value) = row[row.startIndex + k]
                try check(value, column, type: types[k])
                try Self.bind(value, Int32(i + 1), statement, column: column, decimalText: positionText[k])
            }
            try statement.run()
            return sqlite3_last_insert_rowid(db.handle)
        }
        return try writeNewShape(Array(row), db: db)
    }

    private func sameShape<Row: RandomAccessCollection>(_ row: Row) -> Bool where Row.Element == (key: String, value: Value), Row.Index == Int {
        let keys = positionKeys
        guard keys.count == row.count else { return false }
        for k in 0..<keys.count where row[row.startIndex + k].key != keys[k] { return false }
        return true
    }

    /// A row whose fields differ from the last one's: new columns are added, the statement made
    /// again if need be, and the shape remembered.
    private func writeNewShape(_ row: [(key: String, value: Value)], db: SQLiteDatabase) throws -> Int64 {
        var added: [(String, String)] = []
        for (column, value) in row where types[column] == nil && !columns.contains(column) {
            // A column first seen as null gets no declared type, so any later value fits.
            added.append((column, value.isNull ? "" : newColumnType(value)))
        }
        if !created {
            try create(added.isEmpty ? [("_empty", "TEXT")] : added, db: db)
        } else if !added.isEmpty {
            for (c, t) in added {
                try db.execute("ALTER TABLE \(SQLiteDatabase.quote(name)) ADD COLUMN \(SQLiteDatabase.quote(c))\(t.isEmpty ? "" : " " + t)")
                columns.append(c)
                types[c] = t
            }
            statement = nil
        }
        if !key.isEmpty, mode == .upsert, statement == nil {
            // A table made by an earlier run in another mode may lack the key's unique index.
            try db.execute("CREATE UNIQUE INDEX IF NOT EXISTS \(SQLiteDatabase.quote("key_\(name)")) ON \(SQLiteDatabase.quote(name)) (\(key.map(SQLiteDatabase.quote).joined(separator: ", ")))")
        }
        if statement == nil {
            let names = columns.map(SQLiteDatabase.quote).joined(separator: ", ")
            let params = Array(repeating: "?", count: columns.count).joined(separator: ", ")
            var sql = "INSERT INTO \(SQLiteDatabase.quote(name)) (\(names)) VALUES (\(params))"
            if mode == .upsert, !key.isEmpty {
                let updates = columns.filter { !key.contains($0) }.map { "\(SQLiteDatabase.quote($0)) = excluded.\(SQLiteDatabase.quote($0))" }
                sql += " ON CONFLICT (\(key.map(SQLiteDatabase.quote).joined(separator: ", "))) DO " + (updates.isEmpty ? "NOTHING" : "UPDATE SET " + updates.joined(separator: ", "))
            }
            statement = try db.prepare(sql)
        }
        guard let statement else { return 0 }
        // Rows of one source have the same fields in the same order: find their parameter
        // positions once and reuse them. Columns the row lacks stay NULL (bindings are cleared).
        let index = Dictionary(uniqueKeysWithValues: columns.enumerated().map { ($1, $0) })
        positions = row.map { index[$0.0] ?? -1 }
        positionKeys = row.map(\.key)
        positionTypes = row.map { types[$0.0] }
        positionKinds = positionTypes.map(Self.kinds(for:))
        positionText = positionTypes.map(decimalsAsText)
        for (k, (column, value)) in row.enumerated() {
            let i = positions[k]
            guard i >= 0 else { continue }
            try check(value, column, type: positionTypes[k])
            try Self.bind(value, Int32(i + 1), statement, column: column, decimalText: positionText[k])
        }
        try statement.run()
        return sqlite3_last_insert_rowid(db.handle)
    }

    /// A value must fit the column it goes into.
    /// Whether a value may go into a column of this declared type (nil or "": any).
    private static func fits(_ value: Value, type: String?) -> Bool {
        guard let type, let wanted = declaredType(value), type != wanted else { return true }
        if type == "DECIMAL" || type == decimalText {
            switch value {
            case .integer, .decimal: return true
            default: break
            }
        }
        return type.isEmpty
    }

    private func check(_ value: Value, _ column: String, type: String?) throws {
        guard !Self.fits(value, type: type) else { return }
        throw ETLError("table '\(shownName)': column '\(column)' is \(type ?? ""), but a record holds \(value.kindName) \(value.flatText.map { "'\($0.prefix(40))'" } ?? "")")
    }

    /// `bind` for a value read in place, with the column's name looked up only for a message.
    @inline(__always)
    private static func bind(at value: UnsafePointer<Value>, _ index: Int32, _ statement: SQLiteStatement, column names: [String], _ k: Int,
                             decimalText: Bool) throws {
        switch value.pointee {
        case .null: statement.bindNull(index)
        case .integer(let n): statement.bind(index, n)
        case .string(let text): statement.bind(index, text)
        default: try bind(value.pointee, index, statement, column: names[k], decimalText: decimalText)
        }
    }

    /// With `decimalText`, a decimal goes in as its digits; otherwise as the nearest 8-byte
    /// float, refused beyond 15 significant digits. (An integer in a `DECIMAL TEXT` column is
    /// stored as text by the column's affinity.)
    static func bind(_ value: Value, _ index: Int32, _ statement: SQLiteStatement, column: String, decimalText: Bool = false) throws {
        switch value {
        case .null: statement.bindNull(index)
        case .bool(let b): statement.bind(index, Int64(b ? 1 : 0))
        case .integer(let n): statement.bind(index, n)
        case .decimal where decimalText: statement.bindFlatText(index, value)
        case .decimal(let d):
            guard let number = d.doubleOf15Digits else {
                throw ETLError("column '\(column)': \(d) has \(d.significantDigits) significant digits; SQLite keeps 15, so it cannot be stored exactly")
            }
            statement.bind(index, number)
        case .string(let text): statement.bind(index, text)
        case .dateTime, .date, .array, .object: statement.bindFlatText(index, value)
        }
    }
}
