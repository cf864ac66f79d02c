// The `postgres:` load against a real server (a throwaway cluster, Support/PostgresServer.swift):
// pipelines run by the command line against the demo store, tables read back with psql.
import Foundation
import Testing
@testable import CommerceETL

private let linesPipeline = """
    version: 1
    name: pg-lines
    connections: { shop: { type: aurora-xml, url: "demo:?orders=300&products=40&seed=3" } }
    extract: { orders: { connection: shop, resource: orders, page_size: 50 } }
    transform:
      lines:
        input: orders
        steps:
          - explode: { path: Items, parent_as: order }
          - select: { order_id: order.OrderID, line: LineOrder, created: order.DateCreated, sku: VariationReference, ean: VariationEAN,
                      quantity: Quantity, price: Price, opt_out: order.Addresses.0.OptOut, rate: order.ExchangeRate, status: LineStatus,
                      company: order.Addresses.0.CompanyName }
    load:
      pg: { input: lines, postgres: { url: "${DATABASE_URL}", table: lines, MODE } }
      archive: { input: lines, ndjson_gz: { path: "out/lines-{run_id}.ndjson.gz" } }
    """

@Suite(.enabled(if: PostgresServer.enabled, "no PostgreSQL server here (see the line printed above)"), .serialized)
struct PostgresLoadTests {
    private func run(_ yaml: String, mode: String, database: String, server: PostgresServer, in dir: URL,
                     url: String? = nil) async throws -> CLIResult {
        try yaml.replacingOccurrences(of: "MODE", with: mode).write(to: dir.appendingPathComponent("p.yml"), atomically: true, encoding: .utf8)
        return try await runCLIAsync(["run", "p.yml"], in: dir, environment: ["DATABASE_URL": url ?? server.url(database)])
    }

    /// The NDJSON archive a run wrote, one line per record.
    private func archive(_ dir: URL) throws -> [String] {
        let out = dir.appendingPathComponent("out")
        let file = try #require(try FileManager.default.contentsOfDirectory(atPath: out.path).filter { $0.hasSuffix(".ndjson.gz") }.sorted().last)
        return String(decoding: try gunzip(out.appendingPathComponent(file)), as: UTF8.self).split(separator: "\n").map(String.init)
    }

    @Test func replaceLoadsWhatTheNDJSONOfTheSameRunHoldsValueForValue() async throws {
        let server = try await PostgresServer.shared()
        let db = try await server.database()
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try await run(linesPipeline, mode: "mode: replace, key: [order_id, line], indexes: [[created]]", database: db, server: server, in: dir)
        #expect(result.status == 0, "\(result.stderr)")

        #expect(try await server.query(db, "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'lines' ORDER BY ordinal_position") == [
            ["order_id", "bigint"], ["line", "bigint"], ["created", "timestamp with time zone"], ["sku", "text"], ["ean", "text"],
            ["quantity", "bigint"], ["price", "numeric"], ["opt_out", "boolean"], ["rate", "numeric"], ["status", "jsonb"],
            ["company", "text"], ["_cetl_batch", "bigint"],
        ])
        #expect(try await server.query(db, "SELECT indexname FROM pg_indexes WHERE tablename = 'lines' ORDER BY indexname") == [["idx_lines_created"], ["lines_pkey"]])
        #expect(try await server.query(db, "SELECT count(*) FROM pg_tables WHERE tablename LIKE '\\_cetl%'") == [["0"]])

        let lines = try archive(dir)
        let rows = try await server.query(db, """
            SELECT order_id, line, to_char(created AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'), sku, ean, quantity,
                   price::text, opt_out::text, rate::text, status::text, company FROM lines ORDER BY order_id, line
            """)
        #expect(rows.count == lines.count && rows.count > 500)
        let byKey = Dictionary(uniqueKeysWithValues: rows.map { ("\($0[0])/\($0[1])", $0) })
        for line in lines {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let row = try #require(byKey["\(object["order_id"]!)/\(object["line"]!)"])
            /// A number as the NDJSON wrote it (its digits, not a double's).
            func digits(_ field: String) -> String {
                guard let range = line.range(of: "\"\(field)\":([-0-9.eE+]+|null)", options: .regularExpression) else { return "?" }
                return String(line[range].dropFirst(field.count + 3))
            }
            // timestamptz keeps the instant (the offset the source wrote is not kept).
            let iso = ISO8601DateFormatter()
            #expect(iso.date(from: row[2]) != nil && iso.date(from: row[2]) == (object["created"] as? String).flatMap(iso.date(from:)))
            #expect(row[3] == object["sku"] as? String)
            #expect(row[4] == object["ean"] as? String, "leading zeros kept")
            #expect(row[5] == digits("quantity"))
            #expect(row[6] == digits("price"), "numeric digits as the source gave them")
            #expect(row[7] == ((object["opt_out"] as? Bool).map { $0 ? "true" : "false" } ?? "NULL"))
            #expect(row[8] == (digits("rate") == "null" ? "NULL" : digits("rate")))
            let status = try JSONSerialization.jsonObject(with: Data(row[9].utf8)) as? NSDictionary
            #expect(status == object["status"] as? NSDictionary)
            #expect(row[10] == (object["company"] as? String ?? "NULL"))
        }
        #expect(lines.contains { $0.contains("\"rate\":1.0000") }, "a rate whose trailing zeros a float would drop")

        // The password appears nowhere: not in the manifest, not in the plan.
        let manifest = try String(contentsOf: dir.appendingPathComponent("out/pg-lines.manifest.json"), encoding: .utf8)
        #expect(!manifest.contains(server.password) && manifest.contains("postgres://etl@127.0.0.1:\(server.port)/\(db) (table public.lines)"))
        let plan = try await runCLIAsync(["plan", "p.yml"], in: dir, environment: ["DATABASE_URL": server.url(db)])
        #expect(plan.status == 0 && !plan.stdout.contains(server.password) && plan.stdout.contains("postgres://etl@127.0.0.1"), "\(plan.stdout)")
    }

    @Test func appendAddsRowsAndAValueThatDoesNotFitFailsWithoutChangingAnything() async throws {
        let server = try await PostgresServer.shared()
        let db = try await server.database()
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let pipeline = """
            version: 1
            name: pg-append
            connections: { r: { type: files, dialect: aurora-xml, paths: [\(Fixtures.packageRoot.path)/samples/aurora-xml/order-get-*.xml] } }
            extract: { orders: { connection: r, resource: orders } }
            transform: { t: { input: orders, steps: [ { explode: { path: Items, parent_as: order } }, { select: { order_id: order.OrderID, sku: VariationReference, qty: QTY } } ] } }
            load: { db: { input: t, postgres: { url: "${DATABASE_URL}", schema: reporting, table: lines, MODE } } }
            """
        // A schema that does not exist: one line naming it.
        let missing = try await run(pipeline.replacingOccurrences(of: "QTY", with: "Quantity"), mode: "mode: append", database: db, server: server, in: dir)
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("schema 'reporting' does not exist in database '\(db)'"), "\(missing.stderr)")
        _ = try await server.query(db, "CREATE SCHEMA reporting")

        for _ in 0..<2 {
            let r = try await run(pipeline.replacingOccurrences(of: "QTY", with: "Quantity"), mode: "mode: append", database: db, server: server, in: dir)
            #expect(r.status == 0, "\(r.stderr)")
        }
        #expect(try await server.query(db, "SELECT count(*), sum(qty), count(DISTINCT _cetl_batch) FROM reporting.lines") == [["8", "12", "2"]])
        let before = try await server.query(db, "SELECT * FROM reporting.lines ORDER BY _cetl_batch, order_id, sku")

        // qty now arrives as text: an error naming table, column and value, and the table as it was.
        let text = try await run(pipeline.replacingOccurrences(of: "QTY", with: "VariationReference"), mode: "mode: append", database: db, server: server, in: dir)
        #expect(text.status == 1)
        #expect(text.stderr.contains("table 'reporting.lines': column 'qty' is bigint, but a record holds string 'SKU-1-GREEN'"), "\(text.stderr)")
        #expect(try await server.query(db, "SELECT * FROM reporting.lines ORDER BY _cetl_batch, order_id, sku") == before)
    }

    @Test func upsertUpdatesChangedRowsAcrossRunsAndAddsColumns() async throws {
        let server = try await PostgresServer.shared()
        let db = try await server.database()
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let pipeline = """
            version: 1
            name: pg-upsert
            connections: { r: { type: files, dialect: aurora-xml, paths: [\(Fixtures.packageRoot.path)/samples/aurora-xml/order-get-*.xml] } }
            extract: { orders: { connection: r, resource: orders } }
            transform: { t: { input: orders, steps: [ { explode: { path: Items, parent_as: order, index_as: line } }, { select: SELECT } ] } }
            load: { db: { input: t, postgres: { url: "${DATABASE_URL}", table: lines, mode: upsert, key: [order_id, line] } } }
            """
        let first = try await run(pipeline.replacingOccurrences(of: "SELECT", with: "{ order_id: order.OrderID, line: line, sku: VariationReference }"),
                                  mode: "", database: db, server: server, in: dir)
        #expect(first.status == 0, "\(first.stderr)")
        // The second run changes every sku and brings a new column.
        let second = try await run(pipeline.replacingOccurrences(of: "SELECT", with: "{ order_id: order.OrderID, line: line, sku: ProductReference, price: Price }"),
                                   mode: "", database: db, server: server, in: dir)
        #expect(second.status == 0, "\(second.stderr)")
        let rows = try await server.query(db, "SELECT order_id, line, sku, price::text FROM lines ORDER BY order_id, line")
        #expect(rows.count == 4)
        #expect(rows.first == ["1000101", "0", "TEE-01", "12.10"])
        #expect(try await server.query(db, "SELECT count(*) FROM lines WHERE price IS NULL") == [["0"]])
    }

    @Test func theShippedReportingFeedUpsertsTheSameLinesAsItsSQLiteTwin() async throws {
        let server = try await PostgresServer.shared()
        let db = try await server.database()
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let environment = ["DATABASE_URL": server.url(db), "AURORA_XML_URL": "demo:?orders=400&products=60&seed=4"]
        for _ in 0..<2 {   // the second run updates every row in place
            let r = try await runCLIAsync(["run", "pipelines/reporting-feed-postgres.yml"], in: dir, environment: environment)
            #expect(r.status == 0, "\(r.stderr)")
        }
        let twin = try await runCLIAsync(["run", "pipelines/reporting-feed.yml"], in: dir, environment: environment)
        #expect(twin.status == 0, "\(twin.stderr)")
        let sqlite = dir.appendingPathComponent("out/reporting-feed/reporting.sqlite").path
        let expected = try sqliteRows(sqlite, "SELECT order_id, line, net_amount, sku FROM order_lines ORDER BY order_id, line").map { $0.map { $0 ?? "NULL" } }
        let rows = try await server.query(db, "SELECT order_id, line, net_amount::text, sku FROM order_lines ORDER BY order_id, line")
        #expect(rows.count > 300 && rows == expected)
        // numeric adds up exactly: the same pence as the SQLite twin's integer column.
        let pence = try sqliteRows(sqlite, "SELECT sum(net_amount_minor) FROM order_lines")[0][0]!
        #expect(try await server.query(db, "SELECT (sum(net_amount) * 100)::bigint::text FROM order_lines") == [[pence]])
        #expect(try await server.query(db, "SELECT count(DISTINCT _cetl_batch) > 0, count(*) = count(DISTINCT (order_id, line)) FROM order_lines") == [["t", "t"]])
    }

    @Test func childTablesHoldWhatTheSQLiteLoadsChildTablesHoldAcrossUpsertsAndReplaces() async throws {
        let server = try await PostgresServer.shared()
        let db = try await server.database()
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        // The same orders into SQLite and PostgreSQL, keyed (upsert) and not (replace); the second
        // run's store has other items, discounts and addresses for the same order ids.
        let pipeline = """
            version: 1
            name: pg-children
            connections: { shop: { type: aurora-xml, url: "demo:?orders=60&products=20&seed=SEED" } }
            extract: { orders: { connection: shop, resource: orders, detail_level: Full, page_size: 25 } }
            load:
              lite: { input: orders, sqlite: { path: out/o.sqlite, table: orders, mode: upsert, key: [OrderID], child_tables: true } }
              lite_snapshot: { input: orders, sqlite: { path: out/o.sqlite, table: snapshot, child_tables: true } }
              pg: { input: orders, postgres: { url: "${DATABASE_URL}", table: orders, mode: upsert, key: [OrderID], child_tables: true } }
              pg_snapshot: { input: orders, postgres: { url: "${DATABASE_URL}", table: snapshot, child_tables: true } }
            """
        var counts: [[String]] = []
        for seed in [5, 6] {
            let r = try await run(pipeline.replacingOccurrences(of: "SEED", with: "\(seed)"), mode: "", database: db, server: server, in: dir)
            #expect(r.status == 0, "\(r.stderr)")
            let sqlite = dir.appendingPathComponent("out/o.sqlite").path
            let names = try sqliteRows(sqlite, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").map { $0[0]! }
            #expect(names.contains("orders__items__discount_list") && names.contains("snapshot__addresses"))
            #expect(try await server.query(db, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename").map { $0[0] } == names)
            for name in names {
                // Every integer and text column, the row ids included (PostgreSQL's `_rowid` is SQLite's rowid).
                let columns = try await server.query(db, """
                    SELECT column_name FROM information_schema.columns WHERE table_name = '\(name)'
                    AND data_type IN ('bigint', 'text') AND column_name <> '_cetl_batch' ORDER BY ordinal_position
                    """).map { $0[0] }
                let order = name == "orders" ? "\"OrderID\"" : "\"_rowid\""
                let expected = try sqliteRows(sqlite, "SELECT \(columns.map { $0 == "_rowid" ? "rowid" : "\"\($0)\"" }.joined(separator: ", ")) FROM \(name) ORDER BY \(order == "\"_rowid\"" ? "rowid" : order)")
                let rows = try await server.query(db, "SELECT \(columns.map { "\"\($0)\"" }.joined(separator: ", ")) FROM \(name) ORDER BY \(order)")
                #expect(!rows.isEmpty && rows == expected.map { $0.map { $0 ?? "NULL" } }, "table \(name), seed \(seed)")
            }
            counts.append(try await server.query(db, "SELECT (SELECT count(*) FROM orders__items)::text || '/' || (SELECT count(*) FROM orders__items__discount_list)::text").map { $0[0] })
            // No row points at a parent that is not there.
            #expect(try await server.query(db, """
                SELECT (SELECT count(*) FROM orders__items__discount_list d WHERE NOT EXISTS (SELECT 1 FROM orders__items i WHERE i._rowid = d._parent_rowid))
                     + (SELECT count(*) FROM orders__items i WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o."OrderID" = i."_parent_OrderID"))
                     + (SELECT count(*) FROM snapshot__items i WHERE NOT EXISTS (SELECT 1 FROM snapshot s WHERE s._rowid = i._parent_rowid))
                """) == [["0"]])
        }
        #expect(counts.count == 2 && counts[0] != counts[1], "the second run's orders have other children: \(counts)")
    }

    @Test func aServerThatCannotBeUsedGivesOneLineWithoutThePassword() async throws {
        let server = try await PostgresServer.shared()
        let db = try await server.database()
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cases: [(url: String, expected: String)] = [
            (server.url(db, password: "wrong-password-123"), "password authentication failed for user \"etl\""),
            (server.url("no_such_database"), "database \"no_such_database\" does not exist"),
            (server.url(db, port: 1), "cannot connect to postgres://etl@127.0.0.1:1/\(db)"),
            ("postgres://etl:\(server.password)@127.0.0.1:\(server.port)/\(db)?sslmode=maybe", "has sslmode 'maybe'"),
        ]
        for (url, expected) in cases {
            let r = try await run(linesPipeline, mode: "mode: append", database: db, server: server, in: dir, url: url)
            #expect(r.status == (expected.hasPrefix("has sslmode") ? 2 : 1), "\(r.stderr)")
            #expect(r.stderr.contains(expected), "\(r.stderr)")
            #expect(!r.stderr.contains(server.password) && !r.stderr.contains("wrong-password-123"), "\(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count <= 2, "\(r.stderr)")
        }
        #expect(try await server.query(db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == [["0"]])
    }
}
