// Writes one `sqlite:` load's records into its table, committing at each checkpoint.
import CSQLite
import Foundation
import OrderedCollections

final class SQLiteWriter: LoadWriter {
    private let database: SharedDatabase
    private let load: SQLiteLoad
    private var tables: [String: SQLiteTable] = [:]
    /// The top-level table, asked for once per record.
    private var top: SQLiteTable?
    private var rows = 0
    private var closed = false
    /// Whether tables start empty (a fresh run) or hold an interrupted run's rows.
    private var fresh: Bool
    /// The append-mode tables' watermarks before this run, so an abandoned run can be taken back.
    private var base: [String: Int64] = [:]

    init(database: SharedDatabase, load: SQLiteLoad, resume: Value? = nil) throws {
        self.database = database
        self.load = load
        let state = try resume?.state(SQLiteLoad.State.self, of: load.target)
        fresh = state?.tables == nil
        if let b = state?.base { base = b }
        try database.use { db in
            if let marks = state?.tables {
                self.rows = state?.rows ?? 0
                try load.cut(db, to: marks)
            } else if load.mode == .append, state?.base == nil {
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
        return try Value(state: SQLiteLoad.State(tables: marks, rows: rows, base: base))
    }

    func restart() throws {
        try database.use { db in
            for table in tables.values { table.release() }
            tables = [:]
            top = nil
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
        var columns: [(key: String, value: Value)]
    }

    private func table(_ name: String, db: SQLiteDatabase, isTop: Bool) throws -> SQLiteTable {
        if isTop, let top, top.name == name { return top }
        if let t = tables[name] {
            if isTop { top = t }
            return t
        }
        let t = try SQLiteTable(name: name, db: db, mode: load.mode, key: isTop ? load.key : [], decimals: load.decimals, fresh: fresh)
        tables[name] = t
        if isTop { top = t }
        return t
    }

    private func insert(_ record: Record, into name: String, parent: ParentLink?, db: SQLiteDatabase) throws {
        let isTop = parent == nil
        let table = try table(name, db: db, isTop: isTop)
        if let scale = load.minorUnits {
            let expanded = try withMinorUnits(record, scale: scale, table: table.shownName)
            try insert(expanded, table: table, isTop: isTop, parent: parent, db: db)
        } else {
            try insert(record, table: table, isTop: isTop, parent: parent, db: db)
        }
    }

    /// Fields that have held a decimal, by table: they get their `_minor` column in every row
    /// after (null where the value is null), so rows keep one shape.
    private var decimalFields: [String: Set<String>] = [:]

    /// `minor_units`: the record with `<field>_minor` after each decimal field, the value in
    /// whole 10^-scale units.
    private func withMinorUnits(_ record: Record, scale: Int, table: String) throws -> Record {
        var known = decimalFields[table, default: []]
        var fields = OrderedDictionary<String, Value>(minimumCapacity: record.fields.count + 4)
        for (field, value) in record.fields {
            fields[field] = value
            let minorName = field + "_minor"
            switch value {
            case .decimal(let d):
                guard let minor = Money.minor(d.value, scale: scale) else {
                    throw ETLError("table '\(table)': column '\(minorName)': \(d) (in '\(field)') is not a whole number of 10^-\(scale) units that fits in 64 bits (minor_units: \(scale))")
                }
                if record.fields[minorName] != nil {
                    throw ETLError("table '\(table)': column '\(minorName)' would hold both a field of that name and the minor units of '\(field)'")
                }
                known.insert(field)
                fields[minorName] = .integer(minor)
            case .integer(let n) where known.contains(field):
                let (minor, overflow) = n.multipliedReportingOverflow(by: Int64(pow(10, Double(scale))))
                guard !overflow else {
                    throw ETLError("table '\(table)': column '\(minorName)': \(n) (in '\(field)') times 10^\(scale) does not fit in 64 bits (minor_units: \(scale))")
                }
                fields[minorName] = .integer(minor)
            case .null where known.contains(field):
                fields[minorName] = .null
            default:
                break
            }
        }
        decimalFields[table] = known
        return Record(fields)
    }

    private func insert(_ record: Record, table: SQLiteTable, isTop: Bool, parent: ParentLink?, db: SQLiteDatabase) throws {
        if isTop, !load.childTables, load.mode != .upsert {
            // The common case: the record's fields are the row, in their order.
            _ = try table.write(fields: record.fields, db: db)
            return
        }
        var columns: [(key: String, value: Value)] = parent?.columns ?? []
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
                throw ETLError("table '\(table.shownName)': key column '\(k)' is missing or null in a record")
            }
        }
        let rowid = try table.write(columns, db: db)
        // The link children carry: the parent's key at the top (or its rowid), the rowid below.
        var link: [(key: String, value: Value)]
        if isTop, !load.key.isEmpty {
            link = load.key.map { ("_parent_\($0)", record.fields[$0] ?? .null) }
        } else {
            link = [("_parent_rowid", .integer(rowid))]
        }
        if isTop, load.mode == .upsert, load.childTables {
            // The row's children (every child table, also of arrays it no longer has) are
            // replaced with the ones it has now.
            try deleteChildren(of: table.name, link: link, db: db)
        }
        for (field, items) in children {
            let childName = ChildTables.name(parent: table.name, field: field)
            for (position, item) in items.enumerated() {
                var fields = link
                fields.append((ChildTables.positionColumn, .integer(Int64(position))))
                try insert(ChildTables.row(item), into: childName, parent: ParentLink(columns: fields), db: db)
            }
        }
    }

    /// Deletes a top-level row's child rows, at every depth (deepest first: a row is found through its parent).
    private func deleteChildren(of name: String, link: [(key: String, value: Value)], db: SQLiteDatabase) throws {
        let children = try SQLiteTable.tables(prefix: name + "__", db: db).sorted { ($0.count, $0) < ($1.count, $1) }
        guard !children.isEmpty else { return }
        /// The rows of `child` under the parent row, as a condition holding the link's `?` once.
        func belonging(_ child: String) -> String {
            let parent = children.filter { child.hasPrefix($0 + "__") }.max { $0.count < $1.count } ?? name
            if parent == name { return link.map { "\(SQLiteDatabase.quote($0.key)) = ?" }.joined(separator: " AND ") }
            return "\"_parent_rowid\" IN (SELECT rowid FROM \(SQLiteDatabase.quote(parent)) WHERE \(belonging(parent)))"
        }
        for child in children.reversed() {
            let statement = try db.prepare("DELETE FROM \(SQLiteDatabase.quote(child)) WHERE \(belonging(child))")
            for (i, (_, v)) in link.enumerated() { try SQLiteTable.bind(v, Int32(i + 1), statement, column: "_parent") }
            try statement.run()
        }
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
