// Writes one `postgres:` load's records into its table (and, with `child_tables`, its child
// tables) over one connection, in a transaction committed at each checkpoint (README: "Loading
// into PostgreSQL").
import Foundation
import NIOCore
import OrderedCollections

final class PostgresWriter: LoadWriter {
    private let load: PostgresLoad
    private var session: PostgresSession?
    /// The tables written so far, by name; the top one is `load.building`.
    private var tables: [String: PostgresTable] = [:]
    /// The last `_rowid` given out in each table that has one (child tables).
    private var lastRowID: [String: Int64] = [:]
    /// The batch number of the rows being written: one more than the last checkpoint's.
    private var batch: Int64
    /// For an append table, the highest batch number before this run.
    private var base: Int64?
    private var rows = 0

    /// The column that identifies a row its child rows point at, where the parent has no key.
    static let rowIDColumn = "_rowid"

    private init(load: PostgresLoad, session: PostgresSession, batch: Int64, base: Int64?, rows: Int) {
        self.load = load
        self.session = session
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
                try await load.cut(session, after: mark)
                batch = mark + 1
                try await checkCommitted(load, resume, session)
            } else {
                if load.mode == .replace { try await load.drop(load.building, session) }
                let highest = try await load.highestBatch(session)
                if load.mode == .append, base == nil { base = highest }
                batch = highest + 1
            }
            let writer = PostgresWriter(load: load, session: session, batch: batch, base: base, rows: resume?.rows ?? 0)
            for name in try await load.tables(session) { _ = try await writer.table(name, session) }
            return writer
        } catch {
            session.close()
            throw error
        }
    }

    /// A server that acknowledged a commit and then lost it (crashed with `synchronous_commit`
    /// off, or restored from an older backup) would leave a gap that resuming cannot see: the
    /// rows the checkpoint counted must all be there.
    private static func checkCommitted(_ load: PostgresLoad, _ resume: PostgresLoad.State?, _ session: PostgresSession) async throws {
        guard let expected = resume?.rows, load.mode != .upsert else { return }
        var found = 0
        if try await session.columns(of: load.building, schema: load.schema) != nil {
            let condition = load.mode == .append ? " WHERE \(quote(PostgresTable.batchColumn)) > \(resume?.base ?? 0)" : ""
            found = Int(try await session.integer("SELECT count(*)::text FROM \(quote(load.building))\(condition)"))
        }
        guard found == expected else {
            throw ETLError("\(load.target): the table holds \(found) row(s) of the interrupted run where its last checkpoint counted \(expected): the server has lost transactions it had committed (is synchronous_commit off?); 'commerce-etl state reset' discards the run and its rows, and a new run loads them again")
        }
    }

    private func connected() throws -> PostgresSession {
        guard let session else { throw ETLError("\(load.target): the connection is already closed") }
        return session
    }

    /// A table as the server has it (looked up once), given the batch column if this load did not make it.
    private func table(_ name: String, _ session: PostgresSession) async throws -> PostgresTable {
        if let table = tables[name] { return table }
        let existing = try await session.columns(of: name, schema: load.schema)
        let shown = "\(load.schema).\(load.table)" + name.dropFirst(load.building.count)
        var table = PostgresTable(name: name, shownName: shown, existing: existing)
        if existing != nil, table.columns[PostgresTable.batchColumn] == nil {
            // A table this load did not make: it gets the batch column, empty for the rows it had.
            try await session.execute("ALTER TABLE \(quote(name)) ADD COLUMN \(quote(PostgresTable.batchColumn)) bigint")
            table.noteCreated([(PostgresTable.batchColumn, "bigint")])
        }
        tables[name] = table
        return table
    }

    func write(_ records: [Record]) async throws {
        let session = try connected()
        guard !records.isEmpty else { return }
        let key = load.mode == .upsert ? load.key : []
        if !load.childTables {
            try await ensureTable(load.building, for: records, session)
            try tables[load.building]!.check(records, key: key)
            if load.mode == .upsert {
                try await upsert(records, session)
            } else {
                try await copyAhead(records, session)
            }
            rows += records.count
            return
        }
        // Child tables: the rows of every table, parents first; all checked before any is written.
        let laidOut = try await layOut(records, session)
        for (name, tableRows) in laidOut {
            try await ensureTable(name, for: tableRows, session)
            try tables[name]!.check(tableRows, key: name == load.building ? key : [])
        }
        for (name, tableRows) in laidOut {
            if name == load.building, load.mode == .upsert {
                try await upsert(tableRows, session)
            } else if !tableRows.isEmpty {
                try await copy(tableRows, into: name, session)
            }
        }
        rows += records.count
    }

    /// COPYs rows into table `name` (or a staging table shaped `like` it), in this batch.
    private func copy(_ rows: [Record], into name: String, like: PostgresTable? = nil, _ session: PostgresSession) async throws {
        try await settle()
        let table = like ?? tables[name]!
        let chunks = try table.encode(rows, batch: batch)
        try await session.copy(into: name, columns: table.copyColumns) { writer in
            for chunk in chunks { try await writer.write(chunk) }
        }
    }

    /// The COPY into the top table kept open across batches: the server parses one batch while
    /// this process encodes the next, and a checkpoint interval is one statement, not one per
    /// batch. Another statement, a new column or a checkpoint ends it first (`settle`).
    private struct OpenCopy {
        let columns: [String]
        let chunks: BoundedChannel<ByteBuffer>
        let task: Task<Void, any Error>
    }
    private var open: OpenCopy?

    /// Ends the open COPY and waits for the server to have taken every row (its error comes out here).
    private func settle() async throws {
        guard let copy = open else { return }
        open = nil
        copy.chunks.finish()
        try await copy.task.value
    }

    /// Adds rows to the open COPY into the top table (starting one when none is open).
    private func copyAhead(_ rows: [Record], _ session: PostgresSession) async throws {
        let table = tables[load.building]!
        let encoded = try table.encode(rows, batch: batch)
        if open?.columns != table.copyColumns { try await settle() }
        if open == nil {
            let chunks = BoundedChannel<ByteBuffer>(capacity: 16)
            let name = table.name, columns = table.copyColumns
            let task = Task {
                do {
                    try await session.copy(into: name, columns: columns) { writer in
                        while let chunk = try await chunks.receive() { try await writer.write(chunk) }
                    }
                } catch {
                    chunks.fail(error)
                    throw error
                }
            }
            open = OpenCopy(columns: columns, chunks: chunks, task: task)
        }
        guard let copy = open else { return }
        do {
            for chunk in encoded { try await copy.chunks.send(chunk) }
        } catch {
            // The COPY failed: its own error says why.
            open = nil
            try await copy.task.value
            throw error
        }
    }

    /// `child_tables`: each record as a row of the top table without its arrays, and each array
    /// element as a row of `<table>__<field>` after `_rowid` (where it has children of its own),
    /// its parent's key as `_parent_<column>` (or `_parent_rowid`) and `_position`. In upsert
    /// mode a key's children come from its last record in the batch, as its row does.
    private func layOut(_ records: [Record], _ session: PostgresSession) async throws -> OrderedDictionary<String, [Record]> {
        var out: OrderedDictionary<String, [Record]> = [load.building: []]
        var lastOfKey: [[Value]: Int] = [:]
        if load.mode == .upsert {
            for (i, record) in records.enumerated() { lastOfKey[load.key.map { record.fields[$0] ?? .null }] = i }
        }
        for (i, record) in records.enumerated() {
            let children = load.mode != .upsert || lastOfKey[load.key.map { record.fields[$0] ?? .null }] == i
            try await place(record, in: load.building, link: [], children: children, into: &out, session)
        }
        return out
    }

    private func place(_ record: Record, in name: String, link: [(String, Value)], children: Bool,
                       into out: inout OrderedDictionary<String, [Record]>, _ session: PostgresSession) async throws {
        let isTop = name == load.building
        var fields = OrderedDictionary<String, Value>(minimumCapacity: record.fields.count + link.count + 1)
        let childLink: [(String, Value)]
        if isTop, !load.key.isEmpty {
            childLink = load.key.map { ("_parent_" + $0, record.fields[$0] ?? .null) }
        } else {
            let id = try await nextRowID(name, session)
            fields[Self.rowIDColumn] = .integer(id)
            childLink = [("_parent_rowid", .integer(id))]
        }
        for (column, value) in link { fields[column] = value }
        var arrays: [(String, [Value])] = []
        for (field, value) in record.fields {
            if case .array(let items) = value { arrays.append((field, items)) } else { fields[field] = value }
        }
        out[name, default: []].append(Record(fields))
        guard children else { return }
        for (field, items) in arrays {
            let child = ChildTables.name(parent: name, field: field)
            for (position, item) in items.enumerated() {
                try await place(ChildTables.row(item), in: child, link: childLink + [(ChildTables.positionColumn, .integer(Int64(position)))],
                                children: true, into: &out, session)
            }
        }
    }

    private func nextRowID(_ name: String, _ session: PostgresSession) async throws -> Int64 {
        var last: Int64
        if let known = lastRowID[name] {
            last = known
        } else if let table = tables[name], table.columns[Self.rowIDColumn] != nil {
            last = try await session.integer("SELECT coalesce(max(\(quote(Self.rowIDColumn))), 0)::text FROM \(quote(name))")
        } else {
            last = 0
        }
        last += 1
        lastRowID[name] = last
        return last
    }

    /// Creates a table, or adds the columns the records bring (schema evolution).
    private func ensureTable(_ name: String, for records: [Record], _ session: PostgresSession) async throws {
        if tables[name] == nil { try await settle() }
        var table = try await table(name, session)
        var added = table.missingColumns(records)
        if table.exists, added.isEmpty {
            tables[name] = table
            return
        }
        try await settle()
        if !table.exists {
            guard name.utf8.count <= 63 else {
                throw ETLError("table '\(table.shownName)': the name '\(name)' is longer than PostgreSQL's 63 bytes; choose a shorter table name")
            }
            added.append((PostgresTable.batchColumn, "bigint"))
            var definitions = added.map { "\(quote($0.0)) \($0.1)" }
            if name == load.building, !load.key.isEmpty, load.mode == .upsert || load.mode == .replace,
               load.key.allSatisfy({ k in added.contains { $0.0 == k } }) {
                definitions.append("PRIMARY KEY (\(load.key.map(quote).joined(separator: ", ")))")
            }
            try await session.execute("CREATE TABLE \(quote(name)) (\(definitions.joined(separator: ", ")))")
        } else {
            for (column, type) in added {
                try await session.execute("ALTER TABLE \(quote(name)) ADD COLUMN \(quote(column)) \(type)")
            }
        }
        table.noteCreated(added)
        tables[name] = table
    }

    /// COPY into a temporary table, then one merge: the last row of each key wins, an existing
    /// row is updated (keeping the batch number it was first written in, so a resumed run's cut
    /// never removes a row that existed before), a new one inserted; the keys' child rows go, to
    /// be written again from the batch.
    private func upsert(_ records: [Record], _ session: PostgresSession) async throws {
        try await settle()
        let table = tables[load.building]!
        let stage = "_cetl_stage_" + load.table
        let keys = load.key.map(quote).joined(separator: ", ")
        try await session.execute("CREATE TEMP TABLE \(quote(stage)) (LIKE \(quote(table.name))) ON COMMIT DROP")
        try await session.execute("ALTER TABLE \(quote(stage)) ADD COLUMN \"_cetl_order\" bigint GENERATED ALWAYS AS IDENTITY")
        try await copy(records, into: stage, like: table, session)
        try await session.execute("CREATE UNIQUE INDEX IF NOT EXISTS \(quote(String("key_\(load.table)".prefix(63)))) ON \(quote(table.name)) (\(keys))")
        let columns = table.copyColumns.map(quote).joined(separator: ", ")
        let updates = table.copyColumns.filter { !load.key.contains($0) && $0 != PostgresTable.batchColumn }
            .map { "\(quote($0)) = EXCLUDED.\(quote($0))" }
        try await session.execute("""
            INSERT INTO \(quote(table.name)) (\(columns))
            SELECT DISTINCT ON (\(keys)) \(columns) FROM \(quote(stage)) ORDER BY \(keys), "_cetl_order" DESC
            ON CONFLICT (\(keys)) DO \(updates.isEmpty ? "NOTHING" : "UPDATE SET " + updates.joined(separator: ", "))
            """)
        if load.childTables { try await deleteChildren(ofKeysIn: stage, session) }
        try await session.execute("DROP TABLE \(quote(stage))")
    }

    /// Deletes the child rows (at every depth, deepest first) of the keys staged in `stage`.
    private func deleteChildren(ofKeysIn stage: String, _ session: PostgresSession) async throws {
        let children = try await session.tables(prefix: load.building + "__", schema: load.schema)
        let parentKeys = "(" + load.key.map { quote("_parent_" + $0) }.joined(separator: ", ") + ")"
        /// The rows of `name` that belong to the staged keys, as a condition.
        func belonging(_ name: String) -> String {
            let parent = children.filter { name.hasPrefix($0 + "__") }.max { $0.count < $1.count } ?? load.building
            if parent == load.building {
                return "\(parentKeys) IN (SELECT \(load.key.map(quote).joined(separator: ", ")) FROM \(quote(stage)))"
            }
            return "\"_parent_rowid\" IN (SELECT \(quote(Self.rowIDColumn)) FROM \(quote(parent)) WHERE \(belonging(parent)))"
        }
        for name in children.reversed() {
            try await session.execute("DELETE FROM \(quote(name)) WHERE \(belonging(name))")
        }
    }

    func checkpoint(final: Bool) async throws -> Value {
        let session = try connected()
        try await settle()
        try await ensureTable(load.building, for: [], session)   // a run with no records still leaves the table
        try await session.execute("COMMIT")
        let state = PostgresLoad.State(mark: batch, rows: rows, base: base)
        batch += 1
        try await session.execute("BEGIN")
        return try Value(state: state)
    }

    func restart() async throws {
        let session = try connected()
        try await settle()
        // Everything this run wrote goes: every batch after the one it started from.
        if load.mode == .replace {
            try await load.drop(load.building, session)
            tables = [:]
        } else if load.mode == .append {
            try await load.cut(session, after: base ?? 0)
        }
        lastRowID = [:]
        rows = 0
    }

    func finish() async throws -> LoadResult {
        let session = try connected()
        try await settle()
        try await ensureTable(load.building, for: [], session)
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
        open?.task.cancel()
        open?.chunks.fail(CancellationError())
        session?.close()
        session = nil
    }

    func suspend() { abort() }
}
