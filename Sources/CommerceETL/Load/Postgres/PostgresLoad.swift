// `postgres:` load (README: "Loading into PostgreSQL"). Rows go in with `COPY ... FROM STDIN`;
// the transaction is committed at each checkpoint, as the SQLite load's is. `replace` builds
// `_cetl_new_<table>` and swaps it in at publish, in one transaction, so readers see the old
// table until then; `append` adds rows; `upsert` copies each batch into a temporary table and
// merges it with `INSERT ... ON CONFLICT (key) DO UPDATE`. Every row carries `_cetl_batch`, the
// checkpoint interval it was written in, so a resumed run cuts back what the last checkpoint did
// not cover, and `state reset` takes an abandoned run's appended rows back.
import Foundation

public struct PostgresLoad: LoadKind {
    public enum Mode: String, Sendable, CaseIterable { case replace, append, upsert }

    /// Where to connect (`postgres://user:password@host:port/database?sslmode=...`).
    let url: PostgresURL
    public var schema: String
    public var table: String
    public var mode: Mode
    public var key: [String]
    public var childTables: Bool
    public var indexes: [[String]]

    public var target: String { "\(url.shown) (table \(schema).\(table))" }

    public static let name = "postgres"
    enum Keys {
        static let url = Key.string("url", required: true, doc: "where to connect: `postgres://user:password@host:port/database`, with `?sslmode=disable`, `prefer` (the default), `require` or `verify-full` (and `&sslrootcert=FILE` for a private certificate authority), `&connect_timeout=SECONDS` (default 10); write `${DATABASE_URL}`. The password is never logged or printed", example: "postgres://etl@localhost:5432/reports?sslmode=require")
        static let schema = Key.string("schema", doc: "the schema the table is in; it must exist").defaulting("public")
        static let table = Key.string("table", required: true, doc: "the table to fill (not starting with `_cetl_`)", example: "order_lines")
        static let mode = Key.choice("mode", Mode.allCases.map(\.rawValue), doc: "`replace` builds a new table and swaps it in when the run publishes; `append` adds rows; `upsert` inserts or updates by `key` (`INSERT ... ON CONFLICT DO UPDATE`)").defaulting("replace")
        static let key = Key.strings("key", doc: "the columns that identify a row; required for `upsert` (they become the primary key), and used to link child tables", example: "[order_id, line]")
        static let childTables = Key.boolean("child_tables", doc: "arrays become child tables (`<table>__<field>`) instead of `jsonb` columns").defaulting(false)
        static let indexes = Key.columnLists("indexes", doc: "indexes to create, each a list of columns", example: "[[created]]")
    }

    public static let value = OptionSpec(name, .options([Keys.url.spec, Keys.schema.spec, Keys.table.spec, Keys.mode.spec, Keys.key.spec, Keys.childTables.spec, Keys.indexes.spec]),
                                         doc: "a table in a PostgreSQL database, for shared reporting and migrations",
                                         example: "{ url: \"postgres://etl@localhost:5432/reports\", schema: reporting, table: order_lines, mode: upsert, key: [order_id, line] }")

    public static func parse(_ value: ConfigValue) -> (any LoadFormat)? {
        guard let config = value.map() else { return nil }
        let urlText = config.read(Keys.url)
        let schema = config.read(Keys.schema)
        let table = config.read(Keys.table)
        let mode = Mode(rawValue: config.read(Keys.mode))
        let key = config.read(Keys.key) ?? []
        let childTables = config.read(Keys.childTables)
        let indexes = config.read(Keys.indexes) ?? []
        if mode == .upsert, key.isEmpty {
            config.context.diagnostics.error("'\(config.path)' has mode upsert but no 'key' (the columns that identify a row)", at: config.keyLocation(Keys.mode.spec.name))
        }
        var url: PostgresURL?
        if let urlText {
            do {
                url = try PostgresURL.parse(urlText)
                if let password = url?.password { Secrets.register(password) }
            } catch {
                // The URL is not repeated: it may hold a password.
                config.value(Keys.url.spec)?.error("'\(config.path).url' \(error.message)")
            }
        }
        config.finish()
        guard let url, let table, let mode else { return nil }
        if table.isEmpty || table.hasPrefix("_cetl_") {
            value.error("'\(value.path).table' must be a name that does not start with '_cetl_', found \(config.shown(Keys.table, table))")
            return nil
        }
        return PostgresLoad(url: url, schema: schema, table: table, mode: mode, key: key, childTables: childTables, indexes: indexes)
    }

    /// A load from Swift (the `bench` command): the URL's password is registered as a secret.
    public init(url: String, schema: String = "public", table: String, mode: Mode = .replace, key: [String] = [],
                childTables: Bool = false, indexes: [[String]] = []) throws {
        let parsed = try PostgresURL.parse(url)
        if let password = parsed.password { Secrets.register(password) }
        self.init(url: parsed, schema: schema, table: table, mode: mode, key: key, childTables: childTables, indexes: indexes)
    }

    init(url: PostgresURL, schema: String, table: String, mode: Mode, key: [String], childTables: Bool, indexes: [[String]]) {
        self.url = url
        self.schema = schema
        self.table = table
        self.mode = mode
        self.key = key
        self.childTables = childTables
        self.indexes = indexes
    }

    /// What a `replace` load builds its table as until publish.
    var building: String { mode == .replace ? "_cetl_new_" + table : table }

    public var replacedEachRun: (reason: String, instead: String)? {
        mode == .replace ? ("mode replace rebuilds table \(schema).\(table) every run", "use mode: append, or mode: upsert with key: [...] to keep the earlier rows") : nil
    }

    public func makeWriter(_ run: RunContext, resume: Value?) async throws -> any LoadWriter {
        try await PostgresWriter.open(self, resume: try resume?.state(State.self, of: target))
    }

    /// Where a checkpoint left the table: the last batch number it committed, and for an
    /// append table the highest before the run (a state with only `base` is a fresh run's).
    struct State: Codable {
        var mark: Int64?
        var rows: Int?
        var base: Int64?
    }

    /// An append table's highest batch number before the run, so the rows a run adds can be taken back.
    public func base(_ run: RunContext) async throws -> Value? {
        guard mode == .append else { return nil }
        let session = try await PostgresSession.open(url, schema: schema)
        defer { session.close() }
        return .integer(try await highestBatch(session))
    }

    func highestBatch(_ session: PostgresSession) async throws -> Int64 {
        guard let columns = try await session.columns(of: building, schema: schema),
              columns.contains(where: { $0.0 == PostgresTable.batchColumn }) else { return 0 }
        return try await session.integer("SELECT coalesce(max(\(quote(PostgresTable.batchColumn))), 0)::text FROM \(quote(building))")
    }

    /// Takes back what an abandoned interrupted run committed: a table being rebuilt is dropped,
    /// appended rows are removed; upserts cannot be told apart from earlier rows and stay.
    public func discard(_ state: Value, run: RunContext) async {
        do {
            let session = try await PostgresSession.open(url, schema: schema)
            defer { session.close() }
            switch mode {
            case .replace:
                try await drop(building, session)
            case .append:
                guard let base = (try? state.state(State.self, of: target))?.base else { return }
                try await cut(session, after: base)
            case .upsert:
                break
            }
        } catch {
            run.logger.warning("\(target): could not take back what the interrupted run wrote: \(describe(error))")
        }
    }

    /// The table rows are written to and its child tables, parents first.
    func tables(_ session: PostgresSession) async throws -> [String] {
        guard try await session.columns(of: building, schema: schema) != nil else { return [] }
        return try await [building] + session.tables(prefix: building + "__", schema: schema)
    }

    /// Removes the rows written after checkpoint interval `batch`, from the table and its children.
    func cut(_ session: PostgresSession, after batch: Int64) async throws {
        for name in try await tables(session) {
            try await session.execute("DELETE FROM \(quote(name)) WHERE \(quote(PostgresTable.batchColumn)) > \(batch)")
        }
    }

    /// Drops a table and its child tables.
    func drop(_ name: String, _ session: PostgresSession) async throws {
        for child in try await session.tables(prefix: name + "__", schema: schema).reversed() {
            try await session.execute("DROP TABLE IF EXISTS \(quote(child))")
        }
        try await session.execute("DROP TABLE IF EXISTS \(quote(name))")
    }

    /// A run interrupted while publishing committed every row; what is left is swapping the
    /// rebuilt table in and creating the indexes, redone here in a transaction of its own.
    public func completePublishing(_ run: RunContext) async throws -> [String] {
        let session = try await PostgresSession.open(url, schema: schema)
        defer { session.close() }
        try await session.execute("BEGIN")
        do {
            try await complete(session)
            try await session.execute("COMMIT")
        } catch {
            try? await session.execute("ROLLBACK")
            throw error
        }
        return [target]
    }

    /// Finishes the table in the open transaction: swaps a rebuilt table in place of the old one
    /// and creates the indexes. Safe to repeat.
    func complete(_ session: PostgresSession) async throws {
        if mode == .replace, try await session.columns(of: building, schema: schema) != nil {
            try await drop(table, session)
            for name in try await tables(session) {
                try await session.execute("ALTER TABLE \(quote(name)) RENAME TO \(quote(table + name.dropFirst(building.count)))")
            }
            // The primary key's index keeps the name it was built with: give it the table's.
            try await session.execute("ALTER INDEX IF EXISTS \(quote("_cetl_new_" + table + "_pkey")) RENAME TO \(quote(table + "_pkey"))")
        }
        guard try await session.columns(of: table, schema: schema) != nil else { return }
        for columns in indexes {
            let name = "idx_\(table)_\(columns.joined(separator: "_"))"
            try await session.execute("CREATE INDEX IF NOT EXISTS \(quote(String(name.prefix(63)))) ON \(quote(table)) (\(columns.map(quote).joined(separator: ", ")))")
        }
    }

    /// `check`: connects, and the schema must take new tables (or the table, rows).
    public func checkTarget(_ run: RunContext) async throws -> String {
        let session = try await PostgresSession.open(url, schema: schema)
        defer { session.close() }
        let exists = try await session.columns(of: table, schema: schema) != nil
        let privilege = try await session.rows(exists && mode != .replace
            ? "SELECT has_table_privilege(\(literal(schema + "." + table)), 'INSERT')::text"
            : "SELECT has_schema_privilege(\(literal(schema)), 'CREATE')::text")
        guard privilege.first?.first == "true" else {
            throw ETLError("\(url.shown): user \(url.user) may not \(exists && mode != .replace ? "insert into table \(schema).\(table)" : "create tables in schema \(schema)")")
        }
        return "\(url.shown): connected; \(exists ? "table \(schema).\(table) exists" : "schema \(schema) takes the new table \(table)")"
    }
}
