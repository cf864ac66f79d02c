// Writes one `postgres:` load's records into its table over one connection, in a transaction
// committed at each checkpoint (README: "Loading into PostgreSQL").
import Foundation

final class PostgresWriter: LoadWriter {
    private let load: PostgresLoad
    private var session: PostgresSession?
    private var table: PostgresTable
    /// The batch number of the rows being written: one more than the last checkpoint's.
    private var batch: Int64
    /// For an append table, the highest batch number before this run.
    private var base: Int64?
    private var rows = 0

    private init(load: PostgresLoad, session: PostgresSession, table: PostgresTable, batch: Int64, base: Int64?, rows: Int) {
        self.load = load
        self.session = session
        self.table = table
        self.batch = batch
        self.base = base
        self.rows = rows
    }

    static func open(_ load: PostgresLoad, resume: PostgresLoad.State?) async throws -> PostgresWriter {
        let session = try await PostgresSession.open(load.url, schema: load.schema)
        do {
            try await session.execute("BEGIN")
            var base = resume?.base
            var batch: Int64
            if let mark = resume?.mark {
                // Continuing: rows committed after the checkpoint this run continues from go.
                if try await session.columns(of: load.building, schema: load.schema) != nil {
                    try await session.execute("DELETE FROM \(quote(load.building)) WHERE \(quote(PostgresTable.batchColumn)) > \(mark)")
                }
                batch = mark + 1
            } else {
                if load.mode == .replace { try await session.execute("DROP TABLE IF EXISTS \(quote(load.building))") }
                let highest = try await load.highestBatch(session)
                if load.mode == .append, base == nil { base = highest }
                batch = highest + 1
            }
            let existing = try await session.columns(of: load.building, schema: load.schema)
            var table = PostgresTable(name: load.building, shownName: "\(load.schema).\(load.table)", existing: existing)
            if existing != nil, table.columns[PostgresTable.batchColumn] == nil {
                // A table this load did not make: it gets the batch column, empty for the rows it had.
                try await session.execute("ALTER TABLE \(quote(load.building)) ADD COLUMN \(quote(PostgresTable.batchColumn)) bigint")
                table.noteCreated([(PostgresTable.batchColumn, "bigint")])
            }
            return PostgresWriter(load: load, session: session, table: table, batch: batch, base: base, rows: resume?.rows ?? 0)
        } catch {
            session.close()
            throw error
        }
    }

    private func connected() throws -> PostgresSession {
        guard let session else { throw ETLError("\(load.target): the connection is already closed") }
        return session
    }

    func write(_ records: [Record]) async throws {
        let session = try connected()
        try await ensureTable(for: records, session)
        let key = load.mode == .upsert ? load.key : []
        try table.check(records, key: key)
        guard !records.isEmpty else { return }
        if load.mode == .upsert {
            try await upsert(records, session)
        } else {
            try await session.copy(into: table.name, columns: table.copyColumns) { writer in
                try await table.encode(records, batch: batch) { try await writer.write($0) }
            }
        }
        rows += records.count
    }

    /// Creates the table, or adds the columns the records bring (schema evolution).
    private func ensureTable(for records: [Record], _ session: PostgresSession) async throws {
        var added = table.missingColumns(records)
        if !table.exists {
            added.append((PostgresTable.batchColumn, "bigint"))
            var definitions = added.map { "\(quote($0.0)) \($0.1)" }
            if !load.key.isEmpty, load.mode == .upsert || load.mode == .replace,
               load.key.allSatisfy({ k in added.contains { $0.0 == k } }) {
                definitions.append("PRIMARY KEY (\(load.key.map(quote).joined(separator: ", ")))")
            }
            try await session.execute("CREATE TABLE \(quote(table.name)) (\(definitions.joined(separator: ", ")))")
            table.noteCreated(added)
            return
        }
        guard !added.isEmpty else { return }
        for (column, type) in added {
            try await session.execute("ALTER TABLE \(quote(table.name)) ADD COLUMN \(quote(column)) \(type)")
        }
        table.noteCreated(added)
    }

    /// COPY into a temporary table, then one merge: the last row of each key wins, an existing
    /// row is updated (keeping the batch number it was first written in, so a resumed run's cut
    /// never removes a row that existed before), a new one inserted.
    private func upsert(_ records: [Record], _ session: PostgresSession) async throws {
        let stage = "_cetl_stage_" + load.table
        let keys = load.key.map(quote).joined(separator: ", ")
        try await session.execute("CREATE TEMP TABLE \(quote(stage)) (LIKE \(quote(table.name))) ON COMMIT DROP")
        try await session.execute("ALTER TABLE \(quote(stage)) ADD COLUMN \"_cetl_order\" bigint GENERATED ALWAYS AS IDENTITY")
        try await session.copy(into: stage, columns: table.copyColumns) { writer in
            try await table.encode(records, batch: batch) { try await writer.write($0) }
        }
        try await session.execute("CREATE UNIQUE INDEX IF NOT EXISTS \(quote(String("key_\(load.table)".prefix(63)))) ON \(quote(table.name)) (\(keys))")
        let columns = table.copyColumns.map(quote).joined(separator: ", ")
        let updates = table.copyColumns.filter { !load.key.contains($0) && $0 != PostgresTable.batchColumn }
            .map { "\(quote($0)) = EXCLUDED.\(quote($0))" }
        try await session.execute("""
            INSERT INTO \(quote(table.name)) (\(columns))
            SELECT DISTINCT ON (\(keys)) \(columns) FROM \(quote(stage)) ORDER BY \(keys), "_cetl_order" DESC
            ON CONFLICT (\(keys)) DO \(updates.isEmpty ? "NOTHING" : "UPDATE SET " + updates.joined(separator: ", "))
            """)
        try await session.execute("DROP TABLE \(quote(stage))")
    }

    func checkpoint(final: Bool) async throws -> Value {
        let session = try connected()
        try await ensureTable(for: [], session)   // a run with no records still leaves the table
        try await session.execute("COMMIT")
        let state = PostgresLoad.State(mark: batch, rows: rows, base: base)
        batch += 1
        try await session.execute("BEGIN")
        return try Value(state: state)
    }

    func restart() async throws {
        let session = try connected()
        // Everything this run wrote goes: every batch after the one it started from.
        let first = base ?? 0
        if load.mode == .replace {
            try await session.execute("DROP TABLE IF EXISTS \(quote(table.name))")
            table = PostgresTable(name: table.name, shownName: table.shownName, existing: nil)
        } else if load.mode == .append {
            try await session.execute("DELETE FROM \(quote(table.name)) WHERE \(quote(PostgresTable.batchColumn)) > \(first)")
        }
        rows = 0
    }

    func finish() async throws -> LoadResult {
        let session = try connected()
        try await ensureTable(for: [], session)
        try await load.complete(session)
        self.session = nil
        let target = load.target
        var commit = CommitAction(target: target, commit: {
            defer { session.close() }
            try await session.execute("COMMIT")
        }, rollback: {
            session.close()
        })
        commit.isFile = false
        return LoadResult(staged: [], rows: rows, bytes: 0, commit: commit)
    }

    /// Closing the connection rolls back what was not committed; committed checkpoints stay for
    /// a resumed run (or `state reset`).
    func abort() {
        session?.close()
        session = nil
    }

    func suspend() {
        session?.close()
        session = nil
    }
}
