// A small wrapper over the SQLite C API: open, execute, prepared statements.
import CSQLite

final class SQLiteDatabase {
    private(set) var handle: OpaquePointer?
    let path: String

    /// Once per process, before the first connection (see `commerce_etl_sqlite_disable_memstatus`).
    private static let configured: Void = { _ = commerce_etl_sqlite_disable_memstatus() }()

    init(path: String) throws {
        self.path = path
        Self.configured
        let rc = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "error \(rc)"
            sqlite3_close(handle)
            handle = nil
            throw ETLError("cannot open SQLite database \(path): \(message)")
        }
    }

    var lastError: String { handle.map { String(cString: sqlite3_errmsg($0)) } ?? "database closed" }

    func execute(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>? = nil
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        if rc != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? lastError
            sqlite3_free(message)
            throw ETLError("SQLite error in \(path): \(text)")
        }
    }

    func prepare(_ sql: String) throws -> SQLiteStatement {
        var statement: OpaquePointer? = nil
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw ETLError("SQLite error in \(path): \(lastError)")
        }
        return SQLiteStatement(statement: statement, database: self)
    }

    func close() {
        if let handle { sqlite3_close_v2(handle) }
        handle = nil
    }

    deinit { close() }

    /// `"name"` with inner quotes doubled, so any field name is just a name.
    static func quote(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

private let transientDestructor = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

final class SQLiteStatement {
    private var statement: OpaquePointer?
    private unowned let database: SQLiteDatabase
    /// The text parameters bound since the statement last ran, side by side: SQLite reads them
    /// where they are (no copy of its own, no allocation per text) until the statement is reset.
    /// A text that does not fit is handed to SQLite to copy, and the next row gets more room
    /// (up to `textsLimit`: a rare long text is copied, and leaves no large buffer behind).
    private static let textsLimit = 1 << 20
    private var texts: UnsafeMutableRawBufferPointer
    private var textsUsed = 0
    private var textsShort = 0

    init(statement: OpaquePointer, database: SQLiteDatabase) {
        self.statement = statement
        self.database = database
        texts = .allocate(byteCount: 4096, alignment: 1)
    }

    func bindNull(_ index: Int32) { sqlite3_bind_null(statement, index) }
    func bind(_ index: Int32, _ value: Int64) { sqlite3_bind_int64(statement, index, value) }
    func bind(_ index: Int32, _ value: Double) { sqlite3_bind_double(statement, index, value) }
    func bind(_ index: Int32, _ text: String) {
        // A native string's bytes where they are; a copy only for one that has none (bridged).
        if text.utf8.withContiguousStorageIfAvailable({ bindText(index, UnsafeRawBufferPointer($0)) }) == nil {
            var text = text
            text.withUTF8 { bindText(index, UnsafeRawBufferPointer($0)) }
        }
    }

    /// Binds UTF-8 bytes as text, with their count (SQLite need not scan for the end).
    func bindText(_ index: Int32, _ bytes: UnsafeRawBufferPointer) {
        guard bytes.count <= texts.count - textsUsed, let base = texts.baseAddress else {
            textsShort += bytes.count
            sqlite3_bind_text(statement, index, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(bytes.count), transientDestructor)
            return
        }
        let start = base + textsUsed
        if let from = bytes.baseAddress { start.copyMemory(from: from, byteCount: bytes.count) }
        textsUsed += bytes.count
        // SQLITE_STATIC (a nil destructor): SQLite uses the bytes in place until the reset.
        sqlite3_bind_text(statement, index, start.assumingMemoryBound(to: CChar.self), Int32(bytes.count), nil)
    }

    /// Binds a value's text as the flat outputs write it (a date, a date-time, a decimal's
    /// digits, the JSON of a list or an object), formatted in a buffer kept for the purpose.
    func bindFlatText(_ index: Int32, _ value: Value) {
        flat.removeAll(keepingCapacity: true)
        value.writeFlat(into: &flat)
        flat.withUnsafeBytes { bindText(index, $0) }
    }
    private var flat: [UInt8] = []

    /// After a reset, which lets go of every binding: the texts' room is free again, and grows
    /// if the last row's texts did not all fit.
    private func reclaimTexts() {
        textsUsed = 0
        guard textsShort > 0 else { return }
        let needed = min(texts.count + textsShort, Self.textsLimit)
        textsShort = 0
        guard needed > texts.count else { return }
        texts.deallocate()
        texts = .allocate(byteCount: needed, alignment: 1)
    }

    /// Every row as text (NULL as nil), then resets the statement.
    func rows() throws -> [[String?]] {
        var out: [[String?]] = []
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
            reclaimTexts()
        }
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { return out }
            guard rc == SQLITE_ROW else { throw ETLError("SQLite error in \(database.path): \(database.lastError)") }
            out.append((0..<sqlite3_column_count(statement)).map { i in sqlite3_column_text(statement, i).map { String(cString: $0) } })
        }
    }

    /// Runs a statement that returns no rows, then resets it for the next use.
    func run() throws {
        let rc = sqlite3_step(statement)
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
        reclaimTexts()
        guard rc == SQLITE_DONE else { throw ETLError("SQLite error in \(database.path): \(database.lastError)") }
    }

    deinit {
        sqlite3_finalize(statement)
        texts.deallocate()
    }
}
