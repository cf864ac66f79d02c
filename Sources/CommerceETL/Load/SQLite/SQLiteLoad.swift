// `sqlite:` load (README: "Loads"). One transaction per file is committed at each checkpoint, so
// a long migration neither loses its work when it dies nor grows the WAL without end; `replace`
// builds `_cetl_new_<table>` and swaps it in at publish, so readers never see a half-built table.
// Decimals are stored as SQLite numbers (`decimals: real`, so SUM() works on them; more than 15
// significant digits would not read back digit for digit, so such a value is refused rather than
// rounded) or as their digits (`decimals: text`: `1.90` reads back as `1.90`); `minor_units: N`
// adds `<column>_minor`, the value in whole 10^-N units as an integer, so sums are exact.
import CSQLite
import Foundation
import Synchronization

public struct SQLiteLoad: LoadKind {
    public enum Mode: String, Sendable, CaseIterable { case replace, append, upsert }
    /// How a decimal column stores its values: SQLite numbers (8-byte floats), or their digits as text.
    public enum Decimals: String, Sendable, CaseIterable { case real, text }

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
    /// How new decimal columns store their values.
    public var decimals: Decimals
    /// With a value, each decimal column gets `<column>_minor` beside it: the value times
    /// 10^minorUnits, an exact integer.
    public var minorUnits: Int?

    public var target: String { "\(path) (table \(table))" }

    public init(path: String, table: String, mode: Mode = .replace, key: [String] = [], childTables: Bool = false, indexes: [[String]] = [],
                decimals: Decimals = .real, minorUnits: Int? = nil) {
        self.path = path
        self.table = table
        self.mode = mode
        self.key = key
        self.childTables = childTables
        self.indexes = indexes
        self.decimals = decimals
        self.minorUnits = minorUnits
    }

    public static let name = "sqlite"
    enum Keys {
        static let path = Key.outputPath("path", doc: "the database file; several loads may name the same file, one table each", example: "out/store.sqlite")
        static let table = Key.string("table", required: true, doc: "the table to fill (not starting with `sqlite_`)", example: "orders")
        static let mode = Key.choice("mode", Mode.allCases.map(\.rawValue), doc: "`replace` rebuilds the table; `append` adds rows; `upsert` inserts or updates by `key` (`INSERT ... ON CONFLICT DO UPDATE`)").defaulting("replace")
        static let key = Key.strings("key", doc: "the columns that identify a row; required for `upsert` (they become the primary key), and used to link child tables", example: "[OrderID]")
        static let childTables = Key.boolean("child_tables", doc: "arrays become child tables instead of JSON text").defaulting(false)
        static let indexes = Key.columnLists("indexes", doc: "indexes to create, each a list of columns", example: "[[CustomerID], [OrderStatus, DateCreated]]")
        static let decimals = Key.choice("decimals", Decimals.allCases.map(\.rawValue), doc: "how a new decimal column stores its values: `real` as SQLite numbers (8-byte floats: `SUM()` works directly, `1.90` reads back as `1.9`, more than 15 significant digits refused), `text` as their digits (declared `DECIMAL TEXT`: `16.6600` reads back as `16.6600`); a column that exists keeps how it stores them").defaulting("real")
        static let minorUnits = Key.integer("minor_units", in: 0...18, doc: "also write each decimal column as `<column>_minor`, an INTEGER of whole 10^-N units (2: pence, cents), so `SUM()` is exact; a value with more decimal places than N fails the run", example: "2")
    }

    public static let value = OptionSpec(name, .options([Keys.path.spec, Keys.table.spec, Keys.mode.spec, Keys.key.spec, Keys.childTables.spec, Keys.indexes.spec,
                                                          Keys.decimals.spec, Keys.minorUnits.spec]),
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
        let decimals = Decimals(rawValue: config.read(Keys.decimals))
        let minorUnits = config.read(Keys.minorUnits)
        if mode == .upsert, key.isEmpty {
            config.context.diagnostics.error("'\(config.path)' has mode upsert but no 'key' (the columns that identify a row)", at: config.keyLocation(Keys.mode.spec.name))
        }
        config.finish()
        guard let path, let table, let mode, let decimals else { return nil }
        if table.isEmpty || table.hasPrefix("sqlite_") {
            value.error("'\(value.path).table' must be a name that does not start with 'sqlite_', found \(config.shown(Keys.table, table))")
            return nil
        }
        return SQLiteLoad(path: path, table: table, mode: mode, key: key, childTables: childTables, indexes: indexes,
                          decimals: decimals, minorUnits: minorUnits)
    }

    public var replacedEachRun: (reason: String, instead: String)? {
        mode == .replace ? ("mode replace rebuilds table \(table) every run", "use mode: append, or mode: upsert with key: [...] to keep the earlier rows") : nil
    }

    /// An existing database must open for writing and take a write lock (then released, nothing
    /// written); a new one needs a writable directory.
    public func checkTarget(_ run: RunContext) throws -> String {
        let final = try OutputPath.final(path, run: run)
        guard FileManager.default.fileExists(atPath: final) else { return try checkWritableFile(path, run: run) }
        let db = try SQLiteDatabase(path: final)
        defer { db.close() }
        do {
            try db.execute("BEGIN IMMEDIATE")
            try db.execute("ROLLBACK")
        } catch {
            throw ETLError("\(final) opens but cannot be written: \(describe(error))")
        }
        return "\(final): the database opens and takes a write lock (table \(table))"
    }

    public var outputPath: String? { path }

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
    /// What a `replace` load builds its table as until publish.
    static let buildingPrefix = "_cetl_new_"
    var building: String { mode == .replace ? Self.buildingPrefix + table : table }

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
    func watermarks(_ db: SQLiteDatabase) throws -> [String: Int64] {
        var marks: [String: Int64] = [:]
        guard try SQLiteTable.exists(building, db: db) else { return marks }
        for name in try [building] + SQLiteTable.tables(prefix: building + "__", db: db) {
            let q = try db.prepare("SELECT coalesce(max(rowid), 0) FROM \(SQLiteDatabase.quote(name))")
            marks[name] = try q.rows().first?[0].flatMap { Int64($0) } ?? 0
        }
        return marks
    }

    /// Where a checkpoint left the table: the highest rowid of each table it writes, and, for an
    /// append table, the watermarks before the run (a state with only `base` is a fresh run's).
    struct State: Codable {
        var tables: [String: Int64]?
        var rows: Int?
        var base: [String: Int64]?
    }

    /// Removes rows past the watermarks (tables absent from them lose every row, or are dropped
    /// with `dropUnlisted`).
    func cut(_ db: SQLiteDatabase, to marks: [String: Int64], dropUnlisted: Bool = false) throws {
        guard try SQLiteTable.exists(building, db: db) else { return }
        for name in try [building] + SQLiteTable.tables(prefix: building + "__", db: db) {
            if let mark = marks[name] {
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
        return try Value(state: try watermarks(db))
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
                if let base = try state.state(State.self, of: target).base { try cut(db, to: base, dropUnlisted: true) }
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
