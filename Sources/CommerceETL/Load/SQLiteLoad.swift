// `sqlite:` load: a table in a SQLite database, for reporting and migrations.
//
//   sqlite: { path: out/store.sqlite, table: orders, mode: upsert, key: [OrderID], child_tables: true, indexes: [[CustomerID]] }
//
// Writes go through one transaction (WAL journal) that is committed at each checkpoint, so an
// interrupted run continues after its last commit (rows past the checkpoint are removed by rowid
// first). Several loads may name the same file (one table each); they share the connection.
//
// Modes: `replace` (default) builds the new table as `_cetl_new_<table>` (and its child tables)
// and swaps it in when the run publishes its outputs, so readers see the old table until then and
// a failed run leaves it as it was; `append` adds rows (rows committed at checkpoints stay until
// the run is resumed, or are removed by `state reset`); `upsert` inserts or updates by `key` (a
// primary key; INSERT ... ON CONFLICT DO UPDATE).
// Columns come from the records: INTEGER for integers and booleans (0/1), DECIMAL for exact
// decimals, TEXT for strings and ISO 8601 dates, TEXT holding JSON for nested values. A column
// that appears later (a later page or run) is added with ALTER TABLE; a value that does not fit
// its column's type is an error naming the column, never a silent coercion.
//
// Decimals are stored as SQLite numbers, so SUM() and comparisons work; SQLite numbers keep 15
// significant digits, which read back digit for digit (money never needs more). A decimal with
// more significant digits is refused with an error naming the column rather than rounded.
//
// `child_tables: true`: arrays become child tables named `<table>__<field>` in snake case
// (`orders__items`, `orders__items__discount_list`), one row per element with `_position`
// (0-based). Rows of a top-level table's children carry the parent's key as `_parent_<column>`
// (or `_parent_rowid` without a key); deeper levels carry `_parent_rowid`, the parent row's rowid.
import CSQLite
import Foundation
import Synchronization

public struct SQLiteLoad: LoadKind {
    public enum Mode: String, Sendable, CaseIterable { case replace, append, upsert }

    /// Database file, relative to the output directory.
    public var path: String
    /// Table to fill.
    public var table: String
    public var mode: Mode
    /// Key columns (required for upsert; used to link child tables).
    public var key: [String]
    public var childTables: Bool
    /// Indexes to create: each a list of columns.
    public var indexes: [[String]]

    public var target: String { "\(path) (table \(table))" }

    public init(path: String, table: String, mode: Mode = .replace, key: [String] = [], childTables: Bool = false, indexes: [[String]] = []) {
        self.path = path
        self.table = table
        self.mode = mode
        self.key = key
        self.childTables = childTables
        self.indexes = indexes
    }

    public static let name = "sqlite"
    enum Keys {
        static let path = Key.outputPath("path", doc: "the database file; several loads may name the same file, one table each", example: "out/store.sqlite")
        static let table = Key.string("table", required: true, doc: "the table to fill (not starting with `sqlite_`)", example: "orders")
        static let mode = Key.choice("mode", Mode.allCases.map(\.rawValue), doc: "`replace` rebuilds the table; `append` adds rows; `upsert` inserts or updates by `key` (`INSERT ... ON CONFLICT DO UPDATE`)").defaulting("replace")
        static let key = Key.strings("key", doc: "the columns that identify a row; required for `upsert` (they become the primary key), and used to link child tables", example: "[OrderID]")
        static let childTables = Key.boolean("child_tables", doc: "arrays become child tables instead of JSON text").defaulting(false)
        static let indexes = Key.custom("indexes", .list(.strings), doc: "indexes to create, each a list of columns", example: "[[CustomerID], [OrderStatus, DateCreated]]") { (v: ConfigValue) -> [[String]]? in
            v.list()?.compactMap { item in item.strings().flatMap { $0.isEmpty ? nil : $0 } }
        }
    }

    public static let value = OptionSpec(name, .options([Keys.path.spec, Keys.table.spec, Keys.mode.spec, Keys.key.spec, Keys.childTables.spec, Keys.indexes.spec]),
                                         doc: "a table in a SQLite database, for reporting and migrations",
                                         example: "{ path: out/store.sqlite, table: orders, mode: upsert, key: [OrderID], child_tables: true }")

    public static func parse(_ value: ConfigValue) -> (any LoadFormat)? {
        guard let config = value.map() else { return nil }
        let path = config.read(Keys.path)
        let table = config.read(Keys.table)
        let mode = Mode(rawValue: config.read(Keys.mode))
        let key = config.read(Keys.key) ?? []
        let childTables = config.read(Keys.childTables)
        let indexes = config.read(Keys.indexes) ?? []
        if mode == .upsert, key.isEmpty {
            config.context.diagnostics.error("'\(config.path)' has mode upsert but no 'key' (the columns that identify a row)", at: config.keyLocation(Keys.mode.spec.name))
        }
        config.finish()
        guard let path, let table, let mode else { return nil }
        if table.isEmpty || table.hasPrefix("sqlite_") {
            value.error("'\(value.path).table' must be a name that does not start with 'sqlite_', found \(config.shown(Keys.table, table))")
            return nil
        }
        return SQLiteLoad(path: path, table: table, mode: mode, key: key, childTables: childTables, indexes: indexes)
    }

    public func makeWriter(_ run: RunContext, resume: Value?) throws -> any LoadWriter {
        try SQLiteWriter(database: try run.resources.shared(SQLiteFiles.self) { SQLiteFiles() }.open(path: path, run: run), load: self, resume: resume)
    }

    /// A run interrupted while publishing committed every row; what is left is swapping the
    /// rebuilt table in and creating the indexes, redone here in a transaction of its own.
    public func completePublishing(_ run: RunContext) throws -> [String] {
        let path = try OutputPath.final(path, run: run)
        let db = try SQLiteDatabase(path: path)
        defer { db.close() }
        try db.execute("BEGIN IMMEDIATE")
        do {
            try complete(db)
            try db.execute("COMMIT")
        } catch {
            try? db.execute("ROLLBACK")
            throw error
        }
        return [path]
    }

    /// The table rows are written to: the table itself, or the one that replaces it.
    var building: String { mode == .replace ? "_cetl_new_\(table)" : table }

    /// Finishes the table in the open transaction: swaps a rebuilt table in place of the old one
    /// and creates the indexes. Safe to repeat (a run interrupted while publishing does it again).
    func complete(_ db: SQLiteDatabase) throws {
        if mode == .replace, try SQLiteTable.exists(building, db: db) {
            try db.execute("DROP TABLE IF EXISTS \(SQLiteDatabase.quote(table))")
            for child in try SQLiteTable.tables(prefix: table + "__", db: db) { try db.execute("DROP TABLE IF EXISTS \(SQLiteDatabase.quote(child))") }
            for name in try [building] + SQLiteTable.tables(prefix: building + "__", db: db) {
                let renamed = table + name.dropFirst(building.count)
                try db.execute("ALTER TABLE \(SQLiteDatabase.quote(name)) RENAME TO \(SQLiteDatabase.quote(renamed))")
            }
        }
        for columns in indexes {
            let name = "idx_\(table)_\(columns.joined(separator: "_"))"
            try db.execute("CREATE INDEX IF NOT EXISTS \(SQLiteDatabase.quote(name)) ON \(SQLiteDatabase.quote(table)) (\(columns.map(SQLiteDatabase.quote).joined(separator: ", ")))")
        }
    }

    /// The highest rowid of the building table and each of its child tables.
    func watermarks(_ db: SQLiteDatabase) throws -> Record {
        var marks = Record()
        guard try SQLiteTable.exists(building, db: db) else { return marks }
        for name in try [building] + SQLiteTable.tables(prefix: building + "__", db: db) {
            let q = try db.prepare("SELECT coalesce(max(rowid), 0) FROM \(SQLiteDatabase.quote(name))")
            marks[name] = .integer(Int64(try q.rows().first?[0].flatMap { Int64($0) } ?? 0))
        }
        return marks
    }

    /// Removes rows past the watermarks (tables absent from them lose every row, or are dropped
    /// with `dropUnlisted`).
    func cut(_ db: SQLiteDatabase, to marks: Record, dropUnlisted: Bool = false) throws {
        guard try SQLiteTable.exists(building, db: db) else { return }
        for name in try [building] + SQLiteTable.tables(prefix: building + "__", db: db) {
            if let mark = marks[name]?.int {
                try db.execute("DELETE FROM \(SQLiteDatabase.quote(name)) WHERE rowid > \(mark)")
            } else if dropUnlisted {
                try db.execute("DROP TABLE \(SQLiteDatabase.quote(name))")
            } else {
                try db.execute("DELETE FROM \(SQLiteDatabase.quote(name))")
            }
        }
    }

    /// An append table's watermarks before the run, so the rows a run adds can be taken back.
    public func base(_ run: RunContext) throws -> Value? {
        guard mode == .append else { return nil }
        let final = try OutputPath.final(path, run: run)
        guard FileManager.default.fileExists(atPath: final) else { return .object([:]) }
        let db = try SQLiteDatabase(path: final)
        defer { db.close() }
        return .object(try watermarks(db))
    }

    /// Takes back what an abandoned interrupted run committed: a table being rebuilt is dropped,
    /// appended rows are removed; upserts cannot be told apart from earlier rows and stay.
    public func discard(_ state: Value, run: RunContext) {
        guard let final = try? OutputPath.final(path, run: run), FileManager.default.fileExists(atPath: final),
              let db = try? SQLiteDatabase(path: final) else { return }
        defer { db.close() }
        do {
            try db.execute("BEGIN IMMEDIATE")
            switch mode {
            case .replace:
                if try SQLiteTable.exists(building, db: db) { try cut(db, to: [:], dropUnlisted: true) }
            case .append:
                if case .object(let base)? = state["base"] { try cut(db, to: base, dropUnlisted: true) }
            case .upsert:
                break
            }
            try db.execute("COMMIT")
        } catch {
            try? db.execute("ROLLBACK")
            run.logger.warning("could not take back what the interrupted run wrote to \(final): \(describe(error))")
        }
    }
}

/// One database file of a run: one connection and one transaction, shared by every load that
/// names the file, committed when the run publishes its outputs.
final class SharedDatabase: @unchecked Sendable {
    // Every use of `db` and the counters happens under `lock`.
    private let lock = NSLock()
    let path: String
    private var db: SQLiteDatabase?
    private let createdFile: Bool
    private var writers = 0
    private var finished = 0

    init(path: String) throws {
        self.path = path
        createdFile = !FileManager.default.fileExists(atPath: path)
        let db = try SQLiteDatabase(path: path)
        do {
            try db.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;")
            try db.execute("BEGIN IMMEDIATE")
        } catch {
            db.close()
            throw error
        }
        self.db = db
    }

    func join() { lock.withLock { writers += 1 } }

    func use<T>(_ body: (SQLiteDatabase) throws -> T) throws -> T {
        try lock.withLock {
            guard let db else { throw ETLError("the SQLite database \(path) is already closed") }
            return try body(db)
        }
    }

    /// A writer is done; the last one gets the commit to run when the outputs are published.
    func leave() -> CommitAction? {
        lock.withLock {
            finished += 1
            guard finished == writers else { return nil }
            return CommitAction(target: path, commit: { try self.commit() }, rollback: { self.rollback(keepFile: true) })
        }
    }

    /// Commits what is written so far and opens the next transaction.
    func commitCheckpoint() throws {
        try lock.withLock {
            guard let db else { throw ETLError("the SQLite database \(path) is already closed") }
            try db.execute("COMMIT")
            try db.execute("BEGIN IMMEDIATE")
        }
    }

    private func commit() throws {
        try lock.withLock {
            guard let db else { return }
            try db.execute("COMMIT")
            try? db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.close()
            self.db = nil
        }
    }

    /// Drops what was written since the last commit; a file this run created is removed unless
    /// `keepFile` (an interrupted run's checkpoints live in it).
    func rollback(keepFile: Bool = false) {
        lock.withLock {
            guard let db else { return }
            try? db.execute("ROLLBACK")
            db.close()
            self.db = nil
            if createdFile, !keepFile {
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            }
        }
    }
}

/// The SQLite files of one run, by final path (a run resource: loads naming one file share it).
final class SQLiteFiles: Sendable {
    private let files = Mutex<[String: SharedDatabase]>([:])
    init() {}

    func open(path: String, run: RunContext) throws -> SharedDatabase {
        let final = try OutputPath.final(path, run: run)
        return try files.withLock { files in
            if let shared = files[final] {
                shared.join()
                return shared
            }
            try run.directories.prepare(for: final)
            let shared = try SharedDatabase(path: final)
            shared.join()
            files[final] = shared
            return shared
        }
    }
}

final class SQLiteWriter: LoadWriter {
    private let database: SharedDatabase
    private let load: SQLiteLoad
    private var tables: [String: SQLiteTable] = [:]
    private var rows = 0
    private var closed = false
    /// Whether tables start empty (a fresh run) or hold an interrupted run's rows.
    private var fresh: Bool
    /// The append-mode tables' watermarks before this run, so an abandoned run can be taken back.
    private var base = Record()

    init(database: SharedDatabase, load: SQLiteLoad, resume: Value? = nil) throws {
        self.database = database
        self.load = load
        fresh = resume?["tables"] == nil
        if case .object(let b)? = resume?["base"] { base = b }
        try database.use { db in
            if let resume, !fresh {
                guard case .object(let marks)? = resume["tables"], let rows = resume["rows"]?.int else {
                    throw ETLError("the checkpoint of \(load.target) is not of this tool's shape; discard it with 'commerce-etl state reset'")
                }
                self.rows = rows
                try load.cut(db, to: marks)
            } else if load.mode == .append, resume?["base"] == nil {
                base = try load.watermarks(db)
            }
        }
    }

    func write(_ records: [Record]) throws {
        guard !records.isEmpty else { return }
        try database.use { db in
            for record in records { try insert(record, into: load.building, parent: nil, db: db) }
        }
        rows += records.count
    }

    func checkpoint(final: Bool) throws -> Value {
        let marks = try database.use { db in
            if final { try table(load.building, db: db, isTop: true).ensureCreated(db) }
            return try load.watermarks(db)
        }
        try database.commitCheckpoint()
        return .object(["tables": .object(marks), "rows": .integer(Int64(rows)), "base": .object(base)])
    }

    func restart() throws {
        try database.use { db in
            for table in tables.values { table.release() }
            tables = [:]
            switch load.mode {
            case .replace: try load.cut(db, to: [:], dropUnlisted: true)
            case .append: try load.cut(db, to: base, dropUnlisted: true)
            case .upsert: break
            }
        }
        fresh = true
        rows = 0
    }

    /// How a child row points at its parent.
    private struct ParentLink {
        var columns: [(String, Value)]
    }

    private func table(_ name: String, db: SQLiteDatabase, isTop: Bool) throws -> SQLiteTable {
        if let t = tables[name] { return t }
        let t = try SQLiteTable(name: name, db: db, mode: load.mode, key: isTop ? load.key : [], fresh: fresh)
        tables[name] = t
        return t
    }

    private func insert(_ record: Record, into name: String, parent: ParentLink?, db: SQLiteDatabase) throws {
        let isTop = parent == nil
        let table = try table(name, db: db, isTop: isTop)
        var columns: [(String, Value)] = parent?.columns ?? []
        var children: [(String, [Value])] = []
        for (field, value) in record.fields {
            if load.childTables, case .array(let items) = value {
                children.append((field, items))
            } else {
                columns.append((field, value))
            }
        }
        if isTop, load.mode == .upsert {
            for k in load.key where (record.fields[k] ?? .null).isNull {
                throw ETLError("table '\(name)': key column '\(k)' is missing or null in a record")
            }
        }
        let rowid = try table.write(columns, db: db)
        guard !children.isEmpty else { return }
        // The link children carry: the parent's key at the top (or its rowid), the rowid below.
        var link: [(String, Value)]
        if isTop, !load.key.isEmpty {
            link = load.key.map { ("_parent_\($0)", record.fields[$0] ?? .null) }
        } else {
            link = [("_parent_rowid", .integer(rowid))]
        }
        for (field, items) in children {
            let childName = "\(name)__\(Self.snakeCase(field))"
            if isTop, load.mode == .upsert {
                // The parent's children are replaced with the ones it has now.
                try tableDelete(childName, where: link, db: db)
            }
            for (position, item) in items.enumerated() {
                var child: Record
                if case .object(let r) = item { child = r } else { child = ["value": item] }
                var fields = link
                fields.append(("_position", .integer(Int64(position))))
                try insert(child, into: childName, parent: ParentLink(columns: fields), db: db)
            }
        }
    }

    /// Deletes a child table's rows for one parent, and their own children.
    private func tableDelete(_ name: String, where link: [(String, Value)], db: SQLiteDatabase) throws {
        guard try SQLiteTable.exists(name, db: db) else { return }
        let condition = link.map { "\(SQLiteDatabase.quote($0.0)) = ?" }.joined(separator: " AND ")
        let grandchildren = try SQLiteTable.tables(prefix: name + "__", db: db).filter { !$0.dropFirst(name.count + 2).contains("__") }
        for grandchild in grandchildren {
            let statement = try db.prepare("DELETE FROM \(SQLiteDatabase.quote(grandchild)) WHERE \"_parent_rowid\" IN (SELECT rowid FROM \(SQLiteDatabase.quote(name)) WHERE \(condition))")
            for (i, (_, v)) in link.enumerated() { try SQLiteTable.bind(v, Int32(i + 1), statement, column: "_parent") }
            try statement.run()
        }
        let statement = try db.prepare("DELETE FROM \(SQLiteDatabase.quote(name)) WHERE \(condition)")
        for (i, (_, v)) in link.enumerated() { try SQLiteTable.bind(v, Int32(i + 1), statement, column: "_parent") }
        try statement.run()
    }

    static func snakeCase(_ name: String) -> String {
        var out = ""
        var previousLower = false
        for ch in name {
            if ch.isUppercase, previousLower { out += "_" }
            out += ch.lowercased()
            previousLower = ch.isLowercase || ch.isNumber
        }
        return out
    }

    func finish() throws -> LoadResult {
        guard !closed else { throw ETLError("sqlite output already closed") }
        try database.use { db in
            // No records: the table still exists afterwards, so readers find it.
            try table(load.building, db: db, isTop: true).ensureCreated(db)
            for table in tables.values { table.release() }
            try load.complete(db)
        }
        closed = true
        let commit = database.leave()
        return LoadResult(staged: [], rows: rows, bytes: 0, commit: commit)
    }

    func abort() {
        for table in tables.values { table.release() }
        database.rollback()
    }

    func suspend() {
        for table in tables.values { table.release() }
        database.rollback(keepFile: true)
    }
}

/// One table being written: its columns and types, and the prepared insert.
final class SQLiteTable {
    let name: String
    let mode: SQLiteLoad.Mode
    let key: [String]
    private var columns: [String] = []
    private var types: [String: String] = [:]
    private var statement: SQLiteStatement? {
        didSet { positions = [] }
    }
    private var created = false
    private var positions: [Int] = []
    private var positionKeys: [String] = []

    init(name: String, db: SQLiteDatabase, mode: SQLiteLoad.Mode, key: [String], fresh: Bool) throws {
        self.name = name
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

    /// Inserts (or upserts) one row; returns its rowid.
    func write(_ row: [(String, Value)], db: SQLiteDatabase) throws -> Int64 {
        var added: [(String, String)] = []
        for (column, value) in row where types[column] == nil && !columns.contains(column) {
            // A column first seen as null gets no declared type, so any later value fits.
            added.append((column, Self.declaredType(value) ?? ""))
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
        if positions.count != row.count || !zip(row, positionKeys).allSatisfy({ $0.0 == $1 }) {
            let index = Dictionary(uniqueKeysWithValues: columns.enumerated().map { ($1, $0) })
            positions = row.map { index[$0.0] ?? -1 }
            positionKeys = row.map(\.0)
        }
        for (k, (column, value)) in row.enumerated() {
            let i = positions[k]
            guard i >= 0 else { continue }
            try check(value, column)
            try Self.bind(value, Int32(i + 1), statement, column: column)
        }
        try statement.run()
        return sqlite3_last_insert_rowid(db.handle)
    }

    /// A value must fit the column it goes into.
    private func check(_ value: Value, _ column: String) throws {
        guard let type = types[column], let wanted = Self.declaredType(value), type != wanted else { return }
        if type == "DECIMAL", wanted == "INTEGER", case .integer = value { return }
        if type.isEmpty { return }
        throw ETLError("table '\(name)': column '\(column)' is \(type), but a record holds \(value.kindName) \(value.flatText.map { "'\($0.prefix(40))'" } ?? "")")
    }

    static func bind(_ value: Value, _ index: Int32, _ statement: SQLiteStatement, column: String) throws {
        switch value {
        case .null: statement.bindNull(index)
        case .bool(let b): statement.bind(index, Int64(b ? 1 : 0))
        case .integer(let n): statement.bind(index, n)
        case .decimal(let d):
            let digits = d.significantDigits
            guard digits <= 15, let number = d.nearestDouble else {
                throw ETLError("column '\(column)': \(d) has \(digits) significant digits; SQLite keeps 15, so it cannot be stored exactly")
            }
            statement.bind(index, number)
        case .string(let text): statement.bind(index, text)
        case let other:
            var bytes: [UInt8] = []
            other.writeFlat(into: &bytes)
            statement.bind(index, String(decoding: bytes, as: UTF8.self))
        }
    }
}
