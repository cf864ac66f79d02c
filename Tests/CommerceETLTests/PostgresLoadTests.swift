// The `postgres:` load against a real server (a throwaway cluster, Support/PostgresServer.swift):
// pipelines run by the command line against the demo store, tables read back with psql.
import Foundation
import Testing
@testable import CommerceETL
@testable import DemoStore

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

    /// Runs `body` with the shared server, a new database of its own and a scratch directory
    /// (removed afterwards).
    private func withDatabase(_ body: (PostgresServer, String, URL) async throws -> Void) async throws {
        let server = try await PostgresServer.shared()
        let db = try await server.database()
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await body(server, db, dir)
    }

    /// The NDJSON archive a run wrote, one line per record.
    private func archive(_ dir: URL) throws -> [String] {
        let out = dir.appendingPathComponent("out")
        let file = try #require(try FileManager.default.contentsOfDirectory(atPath: out.path).filter { $0.hasSuffix(".ndjson.gz") }.sorted().last)
        return String(decoding: try gunzip(out.appendingPathComponent(file)), as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// A session let go without `close()` closes its connection (in a debug build the client
    /// asserts, ending the process, when a connection is freed open), and the server ends the
    /// backend and rolls back its transaction.
    @Test func aSessionLetGoWithoutClosingClosesItsConnection() async throws {
        try await withDatabase { server, db, _ in
            var session: PostgresSession? = try await PostgresSession.open(try PostgresURL.parse(server.url(db)), schema: "public")
            try await session?.execute("BEGIN")
            try await session?.execute("CREATE TABLE dropped_session (x int)")
            // The session's backend: every other one in this database but the query's own.
            let count = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            #expect(try await server.query(db, count) == [["1"]])
            session = nil
            let deadline = ContinuousClock.now + .seconds(30)
            while try await server.query(db, count) != [["0"]], ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(try await server.query(db, count) == [["0"]])
            #expect(try await server.query(db, "SELECT count(*) FROM pg_tables WHERE tablename = 'dropped_session'") == [["0"]])
        }
    }

    @Test func replaceLoadsWhatTheNDJSONOfTheSameRunHoldsValueForValue() async throws {
        try await withDatabase { server, db, dir in
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
    }

    @Test func appendAddsRowsAndAValueThatDoesNotFitFailsWithoutChangingAnything() async throws {
        try await withDatabase { server, db, dir in
            let pipeline = recordedOrders("pg-append", select: "{ order_id: order.OrderID, sku: VariationReference, qty: QTY }",
                                          postgres: "schema: reporting, table: lines, MODE")
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
    }

    @Test func upsertUpdatesChangedRowsAcrossRunsAndAddsColumns() async throws {
        try await withDatabase { server, db, dir in
            let pipeline = recordedOrders("pg-upsert", select: "SELECT", postgres: "table: lines, mode: upsert, key: [order_id, line]")
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
    }

    @Test func theShippedReportingFeedUpsertsTheSameLinesAsItsSQLiteTwin() async throws {
        try await withDatabase { server, db, dir in
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
    }

    @Test func childTablesHoldWhatTheSQLiteLoadsChildTablesHoldAcrossUpsertsAndReplaces() async throws {
        try await withDatabase { server, db, dir in
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
    }

    /// Every row of every table of the database's public schema but `_cetl_batch` (the
    /// checkpoint interval, which depends on when a run was stopped), as JSON, sorted.
    private func contents(_ server: PostgresServer, _ db: String) async throws -> [String: [String]] {
        var out: [String: [String]] = [:]
        for table in try await server.query(db, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1").map({ $0[0] }) {
            out[table] = try await server.query(db, "SELECT (to_jsonb(t) - '_cetl_batch')::text AS r FROM \"\(table)\" t ORDER BY r").map { $0[0] }
        }
        return out
    }

    @Test func runsKilledAtManyPointsResumeToTheTablesOfAnUninterruptedRun() async throws {
        let server = try await PostgresServer.shared()
        let store = try await DemoStoreServer.start({
            var config = DemoStoreConfig(orders: 420, products: 120, seed: 35, faults: try! FaultPlan(parsing: "all=0.1"))
            config.maxPageSize = 1000
            return config
        }())
        defer { Task { await store.stop() } }
        // Replace with child tables, append and upsert, into one database.
        let yaml = """
            version: 1
            name: pg-resume
            checkpoint_every: 2
            manifest: out/pg-resume.manifest.json
            connections:
              aurora: { type: aurora-xml, url: "\(store.xmlURL)", token: t, concurrency: 3, retries: 6 }
              store: { type: americommerce, url: "\(store.americommerceURL)", token: t, concurrency: 2, retries: 6 }
            extract:
              orders: { connection: aurora, resource: orders, detail_level: Full, page_size: 20 }
              products: { connection: store, resource: products, count: 15 }
            transform:
              lines:
                input: orders
                steps:
                  - explode: { path: Items, parent_as: order }
                  - select: { order_id: order.OrderID, sku: VariationReference, ean: VariationEAN, quantity: Quantity, price: Price }
            load:
              orders_pg: { input: orders, postgres: { url: "${DATABASE_URL}", table: orders, child_tables: true } }
              lines_pg: { input: lines, postgres: { url: "${DATABASE_URL}", table: lines, mode: append } }
              products_pg: { input: products, postgres: { url: "${DATABASE_URL}", table: products, mode: upsert, key: [id] } }
            """
        let reference = try Fixtures.workspace(), killed = try Fixtures.workspace(), logs = try Fixtures.workspace()
        defer { for d in [reference, killed, logs] { try? FileManager.default.removeItem(at: d) } }
        for dir in [reference, killed] { try yaml.write(to: dir.appendingPathComponent("p.yml"), atomically: true, encoding: .utf8) }
        let referenceDB = try await server.database(), killedDB = try await server.database()

        let uninterrupted = try await runCLIAsync(["run", "p.yml"], in: reference, environment: ["DATABASE_URL": server.url(referenceDB)])
        #expect(uninterrupted.status == 0, "\(uninterrupted.stderr)")

        let checkpoint = killed.appendingPathComponent(".commerce-etl/state/pg-resume/checkpoint.json")
        let runs = try await KilledRuns.run(["run", "p.yml"], in: killed, checkpoint: checkpoint,
                                           manifest: killed.appendingPathComponent("out/pg-resume.manifest.json"), logs: logs, environment: ["DATABASE_URL": server.url(killedDB)])
        #expect(runs.status == 0, "\(runs.lastLog)")
        #expect(runs.kills >= 5, "the run should have been killed several times, was \(runs.kills)")
        #expect(runs.continued >= 3)

        let expected = try await contents(server, referenceDB)
        let found = try await contents(server, killedDB)
        #expect(found.keys.sorted() == expected.keys.sorted())
        #expect(expected.keys.contains("orders__items") && expected.keys.allSatisfy { !$0.hasPrefix("_cetl") })
        for (table, rows) in expected {
            let other = found[table] ?? []
            #expect(other == rows, "table \(table): \(other.count) rows, expected \(rows.count); first difference: \(zip(other, rows).first { $0 != $1 }.map { "\($0) instead of \($1)" } ?? "none")")
        }
        #expect(expected["orders"]?.count == 420 && expected["products"]?.count == 120)
        #expect(expected["lines"]?.count == expected["orders__items"]?.count)
        #expect(!FileManager.default.fileExists(atPath: checkpoint.path))
    }

    @Test func aServerStoppedMidRunFailsItInOneLineAndTheNextRunFinishesIt() async throws {
        let server = try await PostgresServer.shared()
        let store = try await DemoStoreServer.start(DemoStoreConfig(orders: 300, products: 10, seed: 36, latency: .milliseconds(30)))
        defer { Task { await store.stop() } }
        let db = try await server.database()
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        try """
            version: 1
            name: pg-stopped
            checkpoint_every: 2
            connections: { aurora: { type: aurora-xml, url: "\(store.xmlURL)", token: t, concurrency: 1 } }
            extract: { orders: { connection: aurora, resource: orders, detail_level: Full, page_size: 10 } }
            transform:
              lines: { input: orders, steps: [ { explode: { path: Items, parent_as: order } }, { select: { order_id: order.OrderID, sku: VariationReference, price: Price } } ] }
            load:
              orders_pg: { input: orders, postgres: { url: "${DATABASE_URL}", table: orders, child_tables: true } }
              lines_pg: { input: lines, postgres: { url: "${DATABASE_URL}", table: lines, mode: append } }
            """.write(to: dir.appendingPathComponent("p.yml"), atomically: true, encoding: .utf8)
        let environment = ["DATABASE_URL": server.url(db)]
        let first = try await runCLIAsync(["run", "p.yml"], in: dir, environment: environment, limit: .seconds(120))
        #expect(first.status == 0, "\(first.stderr)")
        let before = try await contents(server, db)

        /// Runs the pipeline and crashes the server (every connection cut) once the run has saved
        /// checkpoints; starts it again once the run has ended. The run's exit status and output.
        func runStoppedByTheServer(_ name: String) async throws -> (status: Int32, log: String) {
            let log = dir.appendingPathComponent(name)
            let process = try startCLI(["run", "p.yml"], in: dir, log: log, environment: environment)
            let stateDirectory = dir.appendingPathComponent(".commerce-etl/state/pg-stopped").path
            let deadline = ContinuousClock.now + .seconds(60)
            while process.isRunning, ContinuousClock.now < deadline, (try? SavedCheckpoint.load(directory: stateDirectory))??.extracts["orders"]?.pages ?? 0 < 6 {
                try await Task.sleep(for: .milliseconds(5))
            }
            let crashed = process.isRunning
            if crashed { try await server.crash() }
            while process.isRunning, ContinuousClock.now < deadline + .seconds(60) { try await Task.sleep(for: .milliseconds(20)) }
            if crashed { try await server.restart() }
            try #require(crashed, "the run ended before the server could be stopped")
            try #require(!process.isRunning, "the run did not end when its server went away")
            return (process.terminationStatus, try String(contentsOf: log, encoding: .utf8))
        }
        let (status, text) = try await runStoppedByTheServer("second.log")
        #expect(status == 1, "\(text)")
        #expect(text.contains("error: ") && text.contains("postgres://etl@127.0.0.1:\(server.port)/\(db)") && !text.contains(server.password), "\(text)")
        #expect(text.split(separator: "\n").filter { $0.hasPrefix("error") }.count == 1, "\(text)")

        // Readers still see the first run's tables; what the stopped run committed waits for the next.
        let during = try await contents(server, db)
        for table in ["orders", "orders__items"] { #expect(during[table] == before[table], "table \(table)") }
        #expect((during["lines"]?.count ?? 0) > (before["lines"]?.count ?? 0), "the stopped run's checkpoints were committed")

        // A server that lost a committed checkpoint (one crashed with synchronous_commit off)
        // is found out, not resumed over: the last committed batch is set aside meanwhile.
        _ = try await server.query(db, """
            CREATE TABLE set_aside AS SELECT * FROM lines WHERE _cetl_batch = (SELECT max(_cetl_batch) FROM lines);
            DELETE FROM lines WHERE _cetl_batch = (SELECT max(_cetl_batch) FROM lines)
            """)
        let gap = try await runCLIAsync(["run", "p.yml"], in: dir, environment: environment, limit: .seconds(120))
        #expect(gap.status == 1 && gap.stderr.contains("the server has lost transactions it had committed"), "\(gap.stderr)")
        _ = try await server.query(db, "INSERT INTO lines SELECT * FROM set_aside; DROP TABLE set_aside")

        let resumed = try await runCLIAsync(["run", "p.yml"], in: dir, environment: environment, limit: .seconds(120))
        #expect(resumed.status == 0 && resumed.stderr.contains("continuing the interrupted"), "\(resumed.stderr)")
        let after = try await contents(server, db)
        #expect(after.keys.sorted() == before.keys.sorted())
        for table in ["orders", "orders__items", "orders__addresses"] { #expect(after[table] == before[table] && before[table]?.isEmpty == false, "table \(table)") }
        // The same lines again, each once more.
        let twice = ((before["lines"] ?? []) + (before["lines"] ?? [])).sorted()
        let lines = after["lines"]?.sorted() ?? []
        #expect(lines == twice && !twice.isEmpty, "\(lines.count) lines, expected \(twice.count); first difference: \(zip(lines, twice).first { $0 != $1 }.map { "\($0) instead of \($1)" } ?? "none")")

        // Stopped again, and this time given up: state reset takes back what the run committed
        // (appended lines, the table being rebuilt).
        let third = try await runStoppedByTheServer("third.log")
        #expect(third.status == 1, "\(third.log)")
        #expect(try await contents(server, db) != after, "the stopped run committed checkpoints")
        let reset = try await runCLIAsync(["state", "reset", "p.yml"], in: dir, environment: environment)
        #expect(reset.status == 0, "\(reset.stderr)")
        #expect(try await contents(server, db) == after)
    }

    @Test func twoPipelinesLoadingOneDatabaseAtOnceBothSucceed() async throws {
        let server = try await PostgresServer.shared()
        let together = try await server.database(), apart = try await server.database()
        let a = try Fixtures.workspace(), b = try Fixtures.workspace()
        defer { for d in [a, b] { try? FileManager.default.removeItem(at: d) } }
        // Two stores' feeds: one rebuilds a table with child tables, the other upserts lines and appends orders.
        try """
            version: 1
            name: store-a
            checkpoint_every: 2
            connections: { shop: { type: aurora-xml, url: "demo:?orders=400&products=40&seed=8" } }
            extract: { orders: { connection: shop, resource: orders, detail_level: Full, page_size: 25 } }
            load: { db: { input: orders, postgres: { url: "${DATABASE_URL}", table: orders_a, child_tables: true } } }
            """.write(to: a.appendingPathComponent("p.yml"), atomically: true, encoding: .utf8)
        try """
            version: 1
            name: store-b
            checkpoint_every: 2
            connections: { shop: { type: aurora-xml, url: "demo:?orders=400&products=40&seed=9" } }
            extract: { orders: { connection: shop, resource: orders, page_size: 25 } }
            transform: { lines: { input: orders, steps: [ { explode: { path: Items, parent_as: order, index_as: line } }, { select: { order_id: order.OrderID, line: line, sku: VariationReference, price: Price } } ] } }
            load:
              lines_db: { input: lines, postgres: { url: "${DATABASE_URL}", table: lines_b, mode: upsert, key: [order_id, line] } }
              orders_db: { input: orders, postgres: { url: "${DATABASE_URL}", table: orders_b, mode: append } }
            """.write(to: b.appendingPathComponent("p.yml"), atomically: true, encoding: .utf8)
        for _ in 0..<2 {   // the second time over tables that exist
            async let first = runCLIAsync(["run", "p.yml"], in: a, environment: ["DATABASE_URL": server.url(together)], limit: .seconds(120))
            async let second = runCLIAsync(["run", "p.yml"], in: b, environment: ["DATABASE_URL": server.url(together)], limit: .seconds(120))
            let (ra, rb) = try await (first, second)
            #expect(ra.status == 0, "\(ra.stderr)")
            #expect(rb.status == 0, "\(rb.stderr)")
        }
        for _ in 0..<2 {
            for dir in [a, b] {
                let r = try await runCLIAsync(["run", "p.yml"], in: dir, environment: ["DATABASE_URL": server.url(apart)], limit: .seconds(120))
                #expect(r.status == 0, "\(r.stderr)")
            }
        }
        let expected = try await contents(server, apart)
        let found = try await contents(server, together)
        #expect(found.keys.sorted() == expected.keys.sorted() && expected.keys.contains("orders_a__items") && expected.keys.contains("lines_b"))
        for (table, rows) in expected { #expect(found[table] == rows && !rows.isEmpty, "table \(table): \(found[table]?.count ?? 0) rows, expected \(rows.count)") }
        #expect(expected["orders_b"]?.count == 800 && expected["orders_a"]?.count == 400)
    }

    /// The recorded Order Get samples' four order lines (`line` is their place in the order),
    /// selected with `select`, into a `postgres:` load on `${DATABASE_URL}` with the keys `postgres`.
    private func recordedOrders(_ name: String, select: String, postgres: String) -> String {
        """
        version: 1
        name: \(name)
        connections: { r: { type: files, dialect: aurora-xml, paths: [\(Fixtures.packageRoot.path)/samples/aurora-xml/order-get-*.xml] } }
        extract: { orders: { connection: r, resource: orders } }
        transform: { t: { input: orders, steps: [ { explode: { path: Items, parent_as: order, index_as: line } }, { select: \(select) } ] } }
        load: { db: { input: t, postgres: { url: "${DATABASE_URL}", \(postgres) } } }
        """
    }

    /// Four order lines appended to `TABLE`.
    private var filesPipeline: String {
        recordedOrders("pg-files", select: "{ order_id: order.OrderID, sku: VariationReference }", postgres: "table: TABLE, mode: append")
    }

    @Test func tlsIsUsedWhenTheURLAsksForItAndVerifyFullChecksTheCertificate() async throws {
        let server = try await PostgresServer.shared()
        let certificate = try #require(server.certificate, "the test server was started without TLS (no /usr/bin/openssl)")
        let db = try await server.database()
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        // The server refuses `tls_only` without TLS (Support/PostgresServer.swift).
        _ = try await server.query("postgres", """
            DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tls_only') THEN
            CREATE ROLE tls_only LOGIN SUPERUSER PASSWORD '\(server.password)'; END IF; END $$
            """)
        let base = "postgres://tls_only:\(server.password)@127.0.0.1:\(server.port)/\(db)"
        let cases: [(query: String, expected: String?)] = [
            ("?sslmode=disable", "rejects connection for host \"127.0.0.1\", user \"tls_only\", database \"\(db)\", no encryption"),
            ("", nil),   // prefer: TLS, as the server offers it
            ("?sslmode=require", nil),
            // The certificate names localhost (not 127.0.0.1), and no root this system trusts signed it.
            ("@localhost?sslmode=verify-full&sslrootcert=\(certificate)", nil),
            ("?sslmode=verify-full&sslrootcert=\(certificate)", "the server's TLS certificate does not name the host connected to"),
            ("@localhost?sslmode=verify-full", "the server's TLS certificate is not signed by a trusted certificate authority"),
            ("?sslmode=verify-full&sslrootcert=\(dir.path)/missing.pem", "sslrootcert \(dir.path)/missing.pem: cannot read the certificates"),
        ]
        var loaded = 0
        for (query, expected) in cases {
            try filesPipeline.replacingOccurrences(of: "TABLE", with: "lines").write(to: dir.appendingPathComponent("p.yml"), atomically: true, encoding: .utf8)
            let url = query.hasPrefix("@localhost") ? base.replacingOccurrences(of: "@127.0.0.1", with: "@localhost") + query.dropFirst(10) : base + query
            let r = try await runCLIAsync(["run", "p.yml"], in: dir, environment: ["DATABASE_URL": url])
            if let expected {
                #expect(r.status == 1 && r.stderr.contains(expected), "\(query): \(r.stderr)")
                #expect(r.stderr.split(separator: "\n").count <= 2 && !r.stderr.contains(server.password), "\(r.stderr)")
            } else {
                #expect(r.status == 0, "\(query): \(r.stderr)")
                loaded += 4
            }
            #expect(try await server.query(db, "SELECT count(*) FROM pg_tables WHERE tablename = 'lines'") == [["\(loaded > 0 ? 1 : 0)"]])
        }
        #expect(try await server.query(db, "SELECT count(*) FROM lines") == [["\(loaded)"]])
    }

    @Test func checkAndRunsSayWhatAUserWithoutPermissionMayNotDo() async throws {
        try await withDatabase { server, db, dir in
            // A user who may connect but not create tables in public (PostgreSQL 15 and later grant
            // that to no one by default; revoked here for older servers).
            _ = try await server.query(db, """
                DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'reader') THEN
                CREATE ROLE reader LOGIN PASSWORD '\(server.password)'; END IF; END $$;
                REVOKE CREATE ON SCHEMA public FROM PUBLIC
                """)
            try filesPipeline.replacingOccurrences(of: "TABLE", with: "lines").write(to: dir.appendingPathComponent("p.yml"), atomically: true, encoding: .utf8)
            let reader = ["DATABASE_URL": "postgres://reader:\(server.password)@127.0.0.1:\(server.port)/\(db)?sslmode=disable"]
            let owner = ["DATABASE_URL": server.url(db)]

            let refused = try await runCLIAsync(["check", "p.yml"], in: dir, environment: reader)
            #expect(refused.status != 0)
            #expect(refused.stdout.contains("load db") && refused.stdout.contains("postgres://reader@127.0.0.1:\(server.port)/\(db): user reader may not create tables in schema public"), "\(refused.stdout)")
            let run = try await runCLIAsync(["run", "p.yml"], in: dir, environment: reader)
            #expect(run.status == 1 && run.stderr.contains("permission denied for schema public"), "\(run.stderr)")
            #expect(run.stderr.split(separator: "\n").count <= 2 && !run.stderr.contains(server.password), "\(run.stderr)")

            let fresh = try await runCLIAsync(["check", "p.yml"], in: dir, environment: owner)
            #expect(fresh.status == 0 && fresh.stdout.contains("connected; schema public takes the new table lines"), "\(fresh.stdout)")
            #expect(try await runCLIAsync(["run", "p.yml"], in: dir, environment: owner).status == 0)
            let existing = try await runCLIAsync(["check", "p.yml"], in: dir, environment: owner)
            #expect(existing.status == 0 && existing.stdout.contains("connected; table public.lines exists"), "\(existing.stdout)")
            // The table exists now, but the reader may not insert into it.
            let appendRefused = try await runCLIAsync(["check", "p.yml"], in: dir, environment: reader)
            #expect(appendRefused.status != 0 && appendRefused.stdout.contains("user reader may not insert into table public.lines"), "\(appendRefused.stdout)")
            #expect(try await server.query(db, "SELECT count(*) FROM lines") == [["4"]])
        }
    }

    @Test func aServerThatCannotBeUsedGivesOneLineWithoutThePassword() async throws {
        try await withDatabase { server, db, dir in
            let silent = try SilentListener()
            defer { silent.close() }
            let cases: [(url: String, expected: String)] = [
                (server.url(db, password: "wrong-password-123"), "password authentication failed for user \"etl\""),
                (server.url("no_such_database"), "database \"no_such_database\" does not exist"),
                (server.url(db, port: 1), "cannot connect to postgres://etl@127.0.0.1:1/\(db)"),
                ("postgres://etl:\(server.password)@127.0.0.1:\(server.port)/\(db)?sslmode=maybe", "has sslmode 'maybe'"),
                // A port that takes connections and never answers.
                ("postgres://etl:\(server.password)@127.0.0.1:\(silent.port)/\(db)?sslmode=disable&connect_timeout=1",
                 "cannot connect to postgres://etl@127.0.0.1:\(silent.port)/\(db): no answer within 1 s (connect_timeout)"),
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
}

/// A loopback port whose connections the kernel completes and nobody ever reads or answers.
private struct SilentListener {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0, listen(fd, 16) == 0 else { throw ETLTestFailure("cannot listen on a loopback port") }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { _ = Glibc.close(fd) }
}

/// COPY's text format as the load writes it, without a server.
@Suite struct PostgresCopyEncodingTests {
    @Test func valuesAreEscapedAndTextHoldingNULIsRefusedNamingTheColumn() throws {
        let table = PostgresTable(name: "t", shownName: "public.t", existing: [("name", "text"), ("n", "bigint"), ("price", "numeric"), ("doc", "jsonb"), ("_cetl_batch", "bigint")])
        let record: Record = ["name": .string("a\tb\\c\nd\re"), "n": .integer(-42), "price": .decimal(ExactDecimal(parsing: "16.6600")!),
                              "doc": .object(["k": .string("v\"\\")])]
        // Fields in another order than the columns, and one missing (null).
        let reordered: Record = ["price": .null, "name": .string("x")]
        let chunks = try table.encode([record, reordered], batch: 7)
        let text = chunks.map { String(buffer: $0) }.joined()
        #expect(text == "a\\tb\\\\c\\nd\\re\t-42\t16.6600\t{\"k\":\"v\\\\\"\\\\\\\\\"}\t7\nx\t\\N\t\\N\t\\N\t7\n")
        #expect(throws: ETLError("table 'public.t': column 'name' gets text holding a NUL character, which PostgreSQL text cannot store")) {
            _ = try table.encode([["name": .string("a\u{0}b")]], batch: 1)
        }
    }
}
