// `sqlite:` load: one table, created from the records' fields, filled in batched transactions
// through one prepared statement. The database is built under a temporary name and renamed
// into place when the run succeeds, so the table is always a complete copy of one run.
//
// Column types: integers and booleans INTEGER (0/1), strings and dates TEXT (ISO 8601),
// nested values TEXT holding JSON, exact decimals DECIMAL (numeric affinity), stored as SQLite
// numbers so SUM() and comparisons work. SQLite keeps 15 significant digits of a number, which
// reads back digit for digit; a decimal with more is refused with an error naming the column
// rather than silently rounded.
import CSQLite
import Foundation

public struct SQLiteLoad: LoadFormat {
    /// Database file, relative to the working directory.
    public var path: String
    /// Table to create and fill.
    public var table: String

    public var target: String { "\(path) (table \(table))" }

    static func parse(_ value: ConfigValue) -> (any LoadFormat)? {
        guard let config = value.map() else { return nil }
        let path = config.string("path", required: true)
        OutputPath.check(config.value("path"), path)
        let table = config.string("table", required: true)
        config.finish()
        guard let path, let table else { return nil }
        if table.isEmpty || table.hasPrefix("sqlite_") {
            value.error("'\(value.path).table' must be a name that does not start with 'sqlite_', found '\(table)'")
            return nil
        }
        return SQLiteLoad(path: path, table: table)
    }

    public func makeWriter(_ run: RunContext) throws -> any LoadWriter {
        SQLiteWriter(database: try run.sqliteFiles.open(path: path, run: run), table: table)
    }
}

/// One database file of a run. Several `sqlite:` loads may name the same file (one table each);
/// they share one temporary database and one connection, taken in turn, and the last of them to
/// finish closes the file for publishing.
final class SharedDatabase: @unchecked Sendable {
    // Every use of `db` and `writers` happens under `lock`.
    private let lock = NSLock()
    let output: StagedOutput
    private var db: SQLiteDatabase?
    private var writers = 0

    init(output: StagedOutput) throws {
        self.output = output
        try? FileManager.default.removeItem(atPath: output.temporary)
        let db = try SQLiteDatabase(path: output.temporary)
        // The file is private to this run until it is published, so no journal is needed:
        // a failed run deletes it.
        try db.execute("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;")
        self.db = db
    }

    func join() { lock.withLock { writers += 1 } }

    func use<T>(_ body: (SQLiteDatabase) throws -> T) throws -> T {
        try lock.withLock {
            guard let db else { throw ETLError("the SQLite database \(output.final) is already closed") }
            return try body(db)
        }
    }

    /// A writer is done; the last one closes the file and gets it to publish.
    func leave() -> StagedFile? {
        lock.withLock {
            writers -= 1
            guard writers == 0, let db else { return nil }
            db.close()
            self.db = nil
            let fd = open(output.temporary, O_RDONLY)
            if fd >= 0 { fsync(fd); close(fd) }
            return output.staged
        }
    }

    func abort() {
        lock.withLock {
            db?.close()
            db = nil
        }
        output.abort()
    }
}

/// The SQLite files of one run, by final path.
public final class SQLiteFiles: Sendable {
    private let files = Mutex<[String: SharedDatabase]>([:])
    public init() {}

    func open(path: String, run: RunContext) throws -> SharedDatabase {
        let final = AtomicFile.resolve(path, in: run.workingDirectory)
        return try files.withLock { files in
            if let shared = files[final] {
                shared.join()
                return shared
            }
            let shared = try SharedDatabase(output: StagedOutput(path: path, run: run))
            shared.join()
            files[final] = shared
            return shared
        }
    }
}

final class SQLiteWriter: LoadWriter {
    private let database: SharedDatabase
    private let table: String
    private var columns: [String] = []
    private var insert: SQLiteStatement?
    private var rows = 0
    private var closed = false

    init(database: SharedDatabase, table: String) {
        self.database = database
        self.table = table
    }

    static func declaredType(_ value: Value) -> String {
        switch value {
        case .integer, .bool: "INTEGER"
        case .decimal: "DECIMAL"
        case .string, .dateTime, .date, .array, .object, .null: "TEXT"
        }
    }

    func write(_ records: [Record]) throws {
        guard !records.isEmpty else { return }
        try database.use { db in try write(records, db) }
    }

    private func write(_ records: [Record], _ db: SQLiteDatabase) throws {
        var newColumns: [String] = []
        var known = Set(columns)
        for record in records {
            for key in record.fields.keys where !known.contains(key) {
                known.insert(key)
                newColumns.append(key)
            }
        }
        if !newColumns.isEmpty {
            func type(of column: String) -> String {
                for r in records { if let v = r.fields[column], !v.isNull { return Self.declaredType(v) } }
                return "TEXT"
            }
            if columns.isEmpty {
                let defs = newColumns.map { "\(SQLiteDatabase.quote($0)) \(type(of: $0))" }.joined(separator: ", ")
                try db.execute("CREATE TABLE \(SQLiteDatabase.quote(table)) (\(defs))")
            } else {
                for column in newColumns {
                    try db.execute("ALTER TABLE \(SQLiteDatabase.quote(table)) ADD COLUMN \(SQLiteDatabase.quote(column)) \(type(of: column))")
                }
            }
            columns += newColumns
            let names = columns.map(SQLiteDatabase.quote).joined(separator: ", ")
            let params = Array(repeating: "?", count: columns.count).joined(separator: ", ")
            insert = nil
            insert = try db.prepare("INSERT INTO \(SQLiteDatabase.quote(table)) (\(names)) VALUES (\(params))")
        }
        guard let insert else { return }
        try db.execute("BEGIN")
        do {
            for record in records {
                for (i, column) in columns.enumerated() {
                    let index = Int32(i + 1)
                    switch record.fields[column] ?? .null {
                    case .null: insert.bindNull(index)
                    case .bool(let b): insert.bind(index, Int64(b ? 1 : 0))
                    case .integer(let n): insert.bind(index, n)
                    case .decimal(let d): try Self.bindDecimal(d, column: column, index, insert)
                    case let other: insert.bind(index, other.flatText ?? "")
                    }
                }
                try insert.run()
            }
            try db.execute("COMMIT")
        } catch {
            try? db.execute("ROLLBACK")
            throw error
        }
        rows += records.count
    }

    /// Up to 15 significant digits survive a round trip through SQLite's numbers exactly.
    static func bindDecimal(_ d: ExactDecimal, column: String, _ index: Int32, _ statement: SQLiteStatement) throws {
        let text = d.value.description
        let digits = text.utf8.filter { $0 >= 48 && $0 <= 57 }.drop { $0 == 48 }.count
        guard digits <= 15, let number = Double(text) else {
            throw ETLError("column '\(column)': \(d) has \(digits) significant digits; SQLite keeps 15, so it cannot be stored exactly")
        }
        statement.bind(index, number)
    }

    func finish() throws -> LoadResult {
        guard !closed else { throw ETLError("sqlite output already closed") }
        try database.use { db in
            if columns.isEmpty {
                // No records: still publish an empty table so readers find it.
                try db.execute("CREATE TABLE \(SQLiteDatabase.quote(table)) (_empty TEXT)")
            }
            insert = nil
        }
        closed = true
        guard let staged = database.leave() else { return LoadResult(staged: [], rows: rows, bytes: 0) }
        let size = (try? FileManager.default.attributesOfItem(atPath: staged.temporary)[.size] as? Int64) ?? 0
        return LoadResult(staged: [staged], rows: rows, bytes: size)
    }

    func abort() {
        insert = nil
        database.abort()
    }
}

import Synchronization
