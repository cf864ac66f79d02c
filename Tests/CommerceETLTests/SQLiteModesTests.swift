// The SQLite load's modes, child tables, schema evolution and all-or-nothing runs, read back
// with plain SQL.
import Foundation
import Testing
@testable import CommerceETL

private func run(_ yaml: String, in dir: URL) async throws -> RunReport {
    try await PipelineRunner(pipeline: try loadPipeline(yaml), log: quietLog(), workingDirectory: dir.path).run()
}

private func pipeline(load: String, files: String = "samples/aurora-xml/order-get-*.xml", steps: String = "[ { drop: [Nothing] } ]") async -> String {
    """
    version: 1
    name: sqlite-modes
    connections: { r: { type: files, dialect: aurora-xml, paths: [\(files)] } }
    extract: { orders: { connection: r, resource: orders } }
    transform: { t: { input: orders, steps: \(steps) } }
    load: { db: { input: t, sqlite: \(load) } }
    """
}

@Suite struct SQLiteModesTests {
    @Test func childTablesGiveARelationalCopy() async throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try await run(pipeline(load: "{ path: s.sqlite, table: orders, mode: upsert, key: [OrderID], child_tables: true, indexes: [[CustomerID]] }"), in: dir)
        let db = dir.appendingPathComponent("s.sqlite").path
        let tables = try sqliteRows(db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").map { $0[0]! }
        #expect(tables.contains("orders") && tables.contains("orders__items") && tables.contains("orders__items__discount_list")
                && tables.contains("orders__addresses") && tables.contains("orders__transactions"))
        // Lines join back to their orders by key; discount entries to their lines by rowid.
        #expect(try sqliteRows(db, """
            SELECT o.OrderID, count(i._position) FROM orders o LEFT JOIN orders__items i ON i._parent_OrderID = o.OrderID
            GROUP BY o.OrderID ORDER BY o.OrderID
            """) == [["1000101", "2"], ["1000102", "1"], ["1000103", "0"], ["12345678", "1"]])
        #expect(try sqliteRows(db, """
            SELECT i.VariationReference, d.DiscountAmount FROM orders__items i JOIN orders__items__discount_list d ON d._parent_rowid = i.rowid
            """) == [["TEE-01-BLU-M", "1"]])
        #expect(try sqliteRows(db, "SELECT CardExpiry FROM orders__transactions WHERE _parent_OrderID = 12345678") == [["0520"]])
        #expect(try sqliteRows(db, "SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'idx_orders_CustomerID'") == [["idx_orders_CustomerID"]])
        // A second run replaces each order's children rather than adding to them.
        _ = try await run(pipeline(load: "{ path: s.sqlite, table: orders, mode: upsert, key: [OrderID], child_tables: true }"), in: dir)
        #expect(try sqliteRows(db, "SELECT count(*) FROM orders__items") == [["4"]])
        #expect(try sqliteRows(db, "SELECT count(*) FROM orders__items__discount_list") == [["1"]])
        let transactions = try sqliteRows(db, "SELECT count(*) FROM orders__transactions")
        // Orders that no longer have items lose them, and the items' own children, too.
        _ = try await run(pipeline(load: "{ path: s.sqlite, table: orders, mode: upsert, key: [OrderID], child_tables: true }",
                                   steps: "[ { drop: [Items] } ]"), in: dir)
        #expect(try sqliteRows(db, "SELECT count(*) FROM orders__items") == [["0"]])
        #expect(try sqliteRows(db, "SELECT count(*) FROM orders__items__discount_list") == [["0"]])
        #expect(try sqliteRows(db, "SELECT count(*) FROM orders__transactions") == transactions && transactions != [["0"]])
    }

    @Test func upsertTwiceKeepsOneRowPerKeyWithTheLatestValues() async throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let load = "{ path: u.sqlite, table: orders, mode: upsert, key: [OrderID] }"
        _ = try await run(pipeline(load: load, steps: "[ { select: { OrderID: OrderID, OrderStatus: OrderStatus } } ]"), in: dir)
        // The same orders again, now with a new status and a new column.
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("later"), withIntermediateDirectories: true)
        let page = try String(contentsOf: Fixtures.sample("order-get-page-2.xml"), encoding: .utf8)
            .replacingOccurrences(of: "<OrderStatus>Processing</OrderStatus>", with: "<OrderStatus>Despatched</OrderStatus>")
        try page.write(to: dir.appendingPathComponent("later/page.xml"), atomically: true, encoding: .utf8)
        _ = try await run(pipeline(load: load, files: "later/page.xml", steps: "[ { select: { OrderID: OrderID, OrderStatus: OrderStatus, Currency: Currency } } ]"), in: dir)
        let db = dir.appendingPathComponent("u.sqlite").path
        #expect(try sqliteRows(db, "SELECT OrderID, OrderStatus, Currency FROM orders ORDER BY OrderID") == [
            ["1000101", "Despatched", "EUR"], ["1000102", "Despatched", "JPY"], ["1000103", "Cancelled", "KWD"], ["12345678", "Cancelled", nil],
        ])
    }

    @Test func appendAddsRowsAndATypeThatNoLongerFitsFailsWithoutChangingAnything() async throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let load = "{ path: a.sqlite, table: lines, mode: append }"
        let steps = "[ { explode: { path: Items, parent_as: order } }, { select: { order_id: order.OrderID, sku: VariationReference, qty: Quantity } } ]"
        _ = try await run(pipeline(load: load, steps: steps), in: dir)
        _ = try await run(pipeline(load: load, steps: steps), in: dir)
        let db = dir.appendingPathComponent("a.sqlite").path
        #expect(try sqliteRows(db, "SELECT count(*), sum(qty) FROM lines") == [["8", "12"]])
        let before = try sqliteRows(db, "SELECT * FROM lines ORDER BY rowid")

        // qty now arrives as text: an error naming the column, and the table as it was.
        let textQty = "[ { explode: { path: Items, parent_as: order } }, { select: { order_id: order.OrderID, sku: VariationReference, qty: VariationReference } } ]"
        do {
            _ = try await run(pipeline(load: load, steps: textQty), in: dir)
            Issue.record("must fail")
        } catch {
            #expect("\(error)" == "stage 'db': table 'lines': column 'qty' is INTEGER, but a record holds string 'SKU-1-GREEN'")
        }
        #expect(try sqliteRows(db, "SELECT * FROM lines ORDER BY rowid") == before)
    }

    @Test func decimalsAsTextKeepTheirDigitsAndMinorUnitsRefuseWhatTheyCannotHold() async throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let steps = "[ { select: { id: OrderID, rate: ExchangeRate, total: OrderTotal } } ]"
        // The default: numbers (a float each), as before.
        _ = try await run(pipeline(load: "{ path: real.sqlite, table: t }", steps: steps), in: dir)
        let real = dir.appendingPathComponent("real.sqlite").path
        #expect(try sqliteRows(real, "SELECT DISTINCT typeof(rate) FROM t WHERE rate IS NOT NULL") == [["real"]])

        // As text: the digits the source gave, in a DECIMAL TEXT column.
        _ = try await run(pipeline(load: "{ path: text.sqlite, table: t, decimals: text, minor_units: 4 }", steps: steps), in: dir)
        let text = dir.appendingPathComponent("text.sqlite").path
        #expect(try sqliteRows(text, "SELECT DISTINCT typeof(rate), typeof(rate_minor) FROM t WHERE rate IS NOT NULL") == [["text", "integer"]])
        let rates = try sqliteRows(text, "SELECT rate, rate_minor FROM t WHERE rate IS NOT NULL ORDER BY rowid")
        #expect(rates.contains(["1.1634", "11634"]))
        #expect(rates.contains(["187.42", "1874200"]))
        // The first order has no rate: its column was made without a type (decimals then go in
        // as the load says), and `rate_minor` came when the first rate did.
        #expect(try sqliteRows(text, "SELECT name, type FROM pragma_table_info('t') ORDER BY cid").map { $0[0]! + " " + $0[1]! }
                == ["id INTEGER", "rate ", "total DECIMAL TEXT", "total_minor INTEGER", "rate_minor INTEGER"])
        #expect(try sqliteRows(text, "SELECT DISTINCT typeof(total) FROM t") == [["text"]])

        // Two places cannot hold a rate of four: the run fails naming table, column and value,
        // and leaves no table behind.
        do {
            _ = try await run(pipeline(load: "{ path: pence.sqlite, table: t, decimals: text, minor_units: 2 }", steps: steps), in: dir)
            Issue.record("must fail")
        } catch {
            #expect("\(error)" == "stage 'db': table 't': column 'rate_minor': 1.1634 (in 'rate') is not a whole number of 10^-2 units that fits in 64 bits (minor_units: 2)")
        }
        let pence = dir.appendingPathComponent("pence.sqlite").path
        if FileManager.default.fileExists(atPath: pence) {
            #expect(try sqliteRows(pence, "SELECT count(*) FROM sqlite_master WHERE name = 't'") == [["0"]])
        }

        // A DECIMAL column keeps how it stores decimals: appending with `text` into the `real`
        // table still writes numbers there.
        _ = try await run(pipeline(load: "{ path: real.sqlite, table: t, mode: append, decimals: text }", steps: steps), in: dir)
        #expect(try sqliteRows(real, "SELECT count(*), count(*) FILTER (WHERE typeof(total) = 'text') FROM t") == [["8", "0"]])
    }

    @Test func aFailureInAnotherStageLeavesTheDatabaseAsItWas() async throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let yaml = """
            version: 1
            name: two-loads
            connections: { r: { type: files, dialect: aurora-xml, paths: [FILES] } }
            extract: { orders: { connection: r, resource: orders } }
            transform:
              strict: { input: orders, steps: [ { convert_currency: { to: CHF } } ] }
            load:
              db: { input: orders, sqlite: { path: r.sqlite, table: orders, mode: replace } }
              chf: { input: strict, csv: { path: chf.csv } }
            """
        // First run: a pipeline that succeeds.
        let ok = yaml.replacingOccurrences(of: "[ { convert_currency: { to: CHF } } ]", with: "[ { drop: [x] } ]")
            .replacingOccurrences(of: "FILES", with: "samples/aurora-xml/order-get-example.xml")
        _ = try await run(ok, in: dir)
        let db = dir.appendingPathComponent("r.sqlite").path
        let before = try sqliteRows(db, "SELECT OrderID, OrderTotal FROM orders")
        #expect(before == [["12345678", "19.99"]])
        let csvBefore = try Data(contentsOf: dir.appendingPathComponent("chf.csv"))
        // Second run: the database load would replace the table, but the CSV stage fails.
        let failing = yaml.replacingOccurrences(of: "FILES", with: "samples/aurora-xml/order-get-*.xml")
        await #expect(throws: StageError.self) { try await run(failing, in: dir) }
        #expect(try sqliteRows(db, "SELECT OrderID, OrderTotal FROM orders") == before)
        #expect(try Data(contentsOf: dir.appendingPathComponent("chf.csv")) == csvBefore)
        // A database this run created is removed again when the run fails.
        let fresh = failing.replacingOccurrences(of: "r.sqlite", with: "new.sqlite")
        await #expect(throws: StageError.self) { try await run(fresh, in: dir) }
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("new.sqlite").path))
    }
}

@Suite struct SQLiteRowShapeTests {
    /// Rows of one shape are bound from the record's storage with their types checked by a bit
    /// mask: a value that does not fit its column in a row of the same fields as the rows before
    /// it fails exactly as one in a row of a new shape does.
    @Test func aValueThatDoesNotFitInARowOfTheSameFieldsIsRefused() async throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = RunContext(runID: "t", pipelineName: "t", workingDirectory: dir.path, logger: quietLog())
        let rows: [(Value, Value)] = [(.integer(1), .decimal(ExactDecimal(parsing: "1.50")!)), (.integer(2), .integer(3)), (.null, .null)]
        let writer = try SQLiteLoad(path: "a.sqlite", table: "lines").makeWriter(run, resume: nil)
        try await writer.write(rows.map { ["qty": $0.0, "price": $0.1, "sku": .string("S")] })
        for (qty, price, message) in [
            (Value.string("two"), Value.integer(1), "table 'lines': column 'qty' is INTEGER, but a record holds string 'two'"),
            (.integer(1), .bool(true), "table 'lines': column 'price' is DECIMAL, but a record holds boolean 'true'"),
            (.decimal(ExactDecimal(parsing: "2.5")!), .integer(1), "table 'lines': column 'qty' is INTEGER, but a record holds decimal '2.5'"),
        ] {
            await #expect(throws: (any Error).self) { try await writer.write([["qty": qty, "price": price, "sku": .string("S")]]) }
            do {
                try await writer.write([["qty": qty, "price": price, "sku": .string("S")]])
            } catch {
                #expect("\(error)" == message)
            }
        }
        // A row of the same fields whose values fit still goes in: integers into DECIMAL, nulls anywhere.
        try await writer.write([["qty": .integer(4), "price": .integer(5), "sku": .null]])
        let result = try await writer.finish()
        try await result.commit?.commit()
        let file = result.staged.first?.temporary ?? result.commit?.target ?? dir.appendingPathComponent("a.sqlite").path
        #expect(try sqliteRows(file, "SELECT qty, price, sku FROM lines ORDER BY rowid") == [
            ["1", "1.5", "S"], ["2", "3", "S"], [nil, nil, "S"], ["4", "5", nil],
        ])
    }
}
