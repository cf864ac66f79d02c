// Runs the shipped pipelines with the real CLI binary and reads what they wrote with
// independent readers: a CSV parser, zlib + JSONSerialization, and SQLite queries.
import CSV
import Foundation
import Testing
@testable import CommerceETL

@Suite struct EndToEndTests {
    @Test func seedExamplesPipelineWritesAllThreeOutputs() throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try runCLI(["run", "pipelines/seed-examples.yml"], in: dir)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("lines_csv       load       4   4"))
        #expect(Fixtures.files(in: dir) == ["out", "out/order-lines.csv", "out/orders.ndjson.gz", "out/reporting.sqlite", "out/seed-examples.manifest.json"])

        // CSV: one row per order line, leading zeros and quoting intact.
        let csv = try CSVReader(string: String(contentsOf: dir.appendingPathComponent("out/order-lines.csv"), encoding: .utf8),
                                hasHeaderRow: true)
        #expect(csv.headerRow == ["order_id", "currency", "sku", "ean", "quantity", "price"])
        var rows: [[String]] = []
        while let row = csv.next() { rows.append(row) }
        #expect(rows == [
            ["12345678", "GBP", "SKU-1-GREEN", "1234567890A", "1", "19.99"],
            ["1000101", "EUR", "TEE-01-BLU-M", "0012345678912", "3", "12.10"],
            ["1000101", "EUR", "MUG-02, \"Café\" edition", "0000000000017", "1", "12.00"],
            ["1000102", "JPY", "TEA-03-緑茶", "4901234567894", "1", "19.99"],
        ])

        // NDJSON.gz: every order, whole, in source order, decimals as exact JSON numbers.
        let text = String(decoding: try gunzip(dir.appendingPathComponent("out/orders.ndjson.gz")), as: UTF8.self)
        let lines = text.split(separator: "\n")
        #expect(lines.count == 4)
        let orders = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(orders.map { $0["OrderID"] as? Int } == [12345678, 1000101, 1000102, 1000103])
        #expect(lines[0].contains(#""OrderSubtotal":16.6600,"#))
        #expect(lines[1].contains(#""ExchangeRate":1.1634,"#))
        #expect((orders[1]["Items"] as? [[String: Any]])?.count == 2)
        #expect((orders[3]["Items"] as? [Any])?.isEmpty == true)
        #expect(orders[1]["DateShipped"] is NSNull)
        #expect(orders[1]["CustomerNotes"] as? String == "Leave with neighbour, \"No. 7\"\n\tring twice 🎁 <not before 9>")
        let transactions = orders[0]["Transactions"] as? [[String: Any]]
        #expect(transactions?.first?["CardExpiry"] as? String == "0520")

        // SQLite: the same lines, typed.
        let db = dir.appendingPathComponent("out/reporting.sqlite").path
        #expect(try sqliteRows(db, "SELECT count(*), sum(quantity), typeof(order_id), typeof(ean) FROM order_lines") == [["4", "6", "integer", "text"]])
        #expect(try sqliteRows(db, "SELECT ean FROM order_lines WHERE order_id = 1000101 ORDER BY rowid") == [["0012345678912"], ["0000000000017"]])
        #expect(try sqliteRows(db, "SELECT sum(price * quantity) FROM order_lines WHERE currency = 'EUR'") == [["48.3"]])
    }

    @Test func theManifestDescribesTheRun() throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try runCLI(["run", "pipelines/seed-examples.yml"], in: dir)
        #expect(r.status == 0)
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("out/seed-examples.manifest.json"))) as! [String: Any]
        #expect(manifest["pipeline"] as? String == "seed-examples")
        #expect((manifest["run_id"] as? String)?.isEmpty == false)
        let extracts = manifest["extracts"] as! [[String: Any]]
        #expect(extracts.count == 1 && extracts[0]["records"] as? Int == 4 && extracts[0]["pages"] as? Int == 2)
        let loads = manifest["loads"] as! [[String: Any]]
        #expect(loads.map { $0["stage"] as! String } == ["lines_csv", "orders_archive", "reporting_db"])
        for load in loads {
            for file in load["files"] as! [[String: Any]] {
                // An independent checksum of the published file.
                let p = Process()
                p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                p.arguments = ["sha256sum", file["path"] as! String]
                p.currentDirectoryURL = dir
                let out = Pipe()
                p.standardOutput = out
                try p.run()
                p.waitUntilExit()
                let sum = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: " ").first.map(String.init)
                #expect(sum == file["sha256"] as? String)
                #expect(file["bytes"] as? Int == (try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent(file["path"] as! String).path)[.size] as? Int))
            }
        }
        #expect((manifest["warnings"] as? [Any])?.isEmpty == true)
    }

    @Test func sameInputGivesByteIdenticalOutputs() throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        func snapshot() throws -> [Data] {
            let r = try runCLI(["run", "pipelines/seed-examples.yml"], in: dir)
            #expect(r.status == 0, "\(r.stderr)")
            return try ["out/order-lines.csv", "out/orders.ndjson.gz"].map { try Data(contentsOf: dir.appendingPathComponent($0)) }
        }
        #expect(try snapshot() == snapshot())
    }

    @Test func seedProductsPipelineExplodesVariations() throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try runCLI(["run", "pipelines/seed-products.yml"], in: dir)
        #expect(result.status == 0, "\(result.stderr)")
        let csv = try CSVReader(string: String(contentsOf: dir.appendingPathComponent("out/catalog-variants.csv"), encoding: .utf8),
                                hasHeaderRow: true)
        #expect(csv.headerRow == ["product_id", "product_reference", "product_name", "sku", "ean", "stock", "price_gbp", "live"])
        var rows: [[String]] = []
        while let row = csv.next() { rows.append(row) }
        #expect(rows == [
            ["1", "TOIDVD", "Bobbyz", "TOIDVD_1:3_2:5bedea5f3", "", "11", "49.99", "true"],
            ["301", "TEE-01", "Organic T-shirt, \"classic\" fit", "TEE-01-BLU-M", "0012345678912", "17", "12.10", "true"],
            ["301", "TEE-01", "Organic T-shirt, \"classic\" fit", "TEE-01-BLU-L", "0012345678929", "0", "13.10", "false"],
        ])
    }

    @Test func aFailedRunLeavesEarlierOutputsUntouchedAndNoTemporaryFiles() throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = try runCLI(["run", "pipelines/seed-examples.yml"], in: dir)
        #expect(good.status == 0)
        let before = try ["out/order-lines.csv", "out/orders.ndjson.gz", "out/reporting.sqlite"].map {
            try Data(contentsOf: dir.appendingPathComponent($0))
        }

        // The same pipeline over a second, broken file: valid records first, then a bad value.
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("more"), withIntermediateDirectories: true)
        let broken = envelope("<Order><OrderID>5</OrderID><Items /></Order>\n<Order><OrderID>6</OrderID><OrderTotal>12,50</OrderTotal></Order>")
        try broken.write(to: dir.appendingPathComponent("more/order-get-9.xml"), atomically: true, encoding: .utf8)
        let yaml = try String(contentsOf: Fixtures.packageRoot.appendingPathComponent("pipelines/seed-examples.yml"), encoding: .utf8)
            .replacingOccurrences(of: "paths: [samples/aurora-xml/order-get-*.xml]",
                                  with: "paths: [samples/aurora-xml/order-get-*.xml, more/*.xml]")
        try yaml.write(to: dir.appendingPathComponent("broken.yml"), atomically: true, encoding: .utf8)

        let bad = try runCLI(["run", "broken.yml"], in: dir)
        #expect(bad.status == 1)
        #expect(bad.stderr.hasPrefix("error: stage 'orders': more/order-get-9.xml:4:28: OrderTotal must be a Float (a decimal number) (its type in the API document), found \"12,50\"\n"))
        #expect(!bad.stderr.contains("Fatal") && !bad.stderr.contains("Stack"))
        let after = try ["out/order-lines.csv", "out/orders.ndjson.gz", "out/reporting.sqlite"].map {
            try Data(contentsOf: dir.appendingPathComponent($0))
        }
        #expect(before == after)
        #expect(Fixtures.files(in: dir) == ["broken.yml", "more", "more/order-get-9.xml", "out", "out/order-lines.csv",
                                            "out/orders.ndjson.gz", "out/reporting.sqlite", "out/seed-examples.manifest.json"])
    }

    @Test func aFailedFirstRunCreatesNothingButItsManifest() throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let yaml = try String(contentsOf: Fixtures.packageRoot.appendingPathComponent("pipelines/seed-examples.yml"), encoding: .utf8)
            .replacingOccurrences(of: "samples/aurora-xml/order-get-*.xml", with: "nowhere/*.xml")
        try yaml.write(to: dir.appendingPathComponent("p.yml"), atomically: true, encoding: .utf8)
        let r = try runCLI(["run", "p.yml"], in: dir)
        #expect(r.status == 1)
        #expect(r.stderr.contains("stage 'orders': no file matches 'nowhere/*.xml'"))
        #expect(Fixtures.files(in: dir) == ["out", "out/seed-examples.manifest.json", "p.yml"])
        // The manifest says what happened, for a scheduler that reads no messages.
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("out/seed-examples.manifest.json"))) as! [String: Any]
        #expect(manifest["status"] as? String == "failed")
        #expect((manifest["error"] as? String)?.hasPrefix("stage 'orders': no file matches 'nowhere/*.xml'") == true)
        #expect(manifest["outputs_changed"] as? Bool == false)
        #expect(manifest["previous"] is NSNull)
        #expect((manifest["extracts"] as? [[String: Any]])?.first?["records"] as? Int == 0)
    }

    @Test func validateReportsAMisspelledKeyWithItsLocation() throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let yaml = try String(contentsOf: Fixtures.packageRoot.appendingPathComponent("pipelines/seed-examples.yml"), encoding: .utf8)
            .replacingOccurrences(of: "    parent_as: order", with: "    parent_as: order")
            .replacingOccurrences(of: "  orders_archive:\n    input: orders", with: "  orders_archive:\n    inptu: orders")
        try yaml.write(to: dir.appendingPathComponent("typo.yml"), atomically: true, encoding: .utf8)
        let r = try runCLI(["validate", "typo.yml", "pipelines/seed-examples.yml"], in: dir)
        #expect(r.status == 2)
        let lines = r.stderr.split(separator: "\n").map(String.init)
        // The line the typo is on (41 before the file gained its schema line).
        let line = try #require(yaml.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("inptu") }) + 1
        #expect(lines.contains("typo.yml:\(line):5: error: unknown key 'inptu' in 'load.orders_archive' (did you mean 'input'?)"))
        #expect(r.stdout == "pipelines/seed-examples.yml: ok\n")

        let ok = try runCLI(["validate", "pipelines/seed-examples.yml", "pipelines/seed-products.yml"], in: dir)
        #expect(ok.status == 0)
        #expect(try runCLI(["run", "typo.yml"], in: dir).status == 2)
        #expect(try runCLI(["frobnicate"], in: dir).status == 2)
        #expect(try runCLI(["run", "missing.yml"], in: dir).stderr == "missing.yml:1:1: error: cannot read the pipeline file: No such file or directory\n")
    }

    /// Starts `p.yml` against a slow demo store, waits until the run has opened its outputs,
    /// sends `signal`, and returns the exit status and standard error.
    func stopRunWith(_ signal: Int32) async throws -> (status: Int32, stderr: String, files: [String]) {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        // 300 pages of 100 ms each, one at a time: the run cannot finish by itself before the signal.
        // No checkpoint before the end either, however late a loaded machine delivers the signal
        // (a run stopped after a checkpoint keeps its work for the next one: ResumeTests).
        try """
            version: 1
            name: slow
            checkpoint_every: 1000
            connections:
              store: { type: aurora-xml, url: "demo:?orders=3000&latency=100", concurrency: 1 }
            extract:
              orders: { connection: store, resource: orders, page_size: 10 }
            load:
              orders_csv: { input: orders, csv: { path: out/orders.csv } }
            """.write(to: dir.appendingPathComponent("p.yml"), atomically: true, encoding: .utf8)

        let process = cliProcess(["run", "p.yml"], in: dir)
        let err = Pipe()
        process.standardError = err
        process.standardOutput = Pipe()
        try process.run()
        // The run is under way once its temporary output exists (bounded: 30 s).
        let out = dir.appendingPathComponent("out")
        for _ in 0..<1500 where !(Fixtures.files(in: out).contains { $0.contains(".tmp-") }) {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(Fixtures.files(in: out).contains { $0.contains(".tmp-") })
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
                Fixtures.files(in: dir))
    }

    /// Ctrl-C, and what cron, systemd and Kubernetes send (SIGTERM) or a closed terminal (SIGHUP):
    /// the same clean stop, each with its conventional exit code; no lock, state or temporary file left.
    @Test(.timeLimit(.minutes(1)), arguments: [
        (SIGINT, Int32(130), "interrupted"),
        (SIGTERM, 143, "terminated (SIGTERM)"),
        (SIGHUP, 129, "terminated (SIGHUP: the terminal went away)"),
    ])
    func aSignalStopsTheRunAndChangesNothing(signal: Int32, status: Int32, message: String) async throws {
        let result = try await stopRunWith(signal)
        #expect(result.status == status)
        #expect(result.stderr == "\(message): no output was changed\n")
        // Nothing but the manifest of the stopped run.
        #expect(result.files == ["out", "out/slow.manifest.json", "p.yml"])
    }

    @Test func ordersExportRunsAgainstTheBuiltInDemoStore() throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try runCLI(["run", "pipelines/orders-export.yml"], in: dir, environment: ["AURORA_XML_URL": "demo:?orders=700&products=50&seed=2"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.isEmpty)
        let text = String(decoding: try gunzip(dir.appendingPathComponent("out/orders-export/orders.ndjson.gz")), as: UTF8.self)
        let orders = try text.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(orders.map { $0["OrderID"] as! Int } == Array(1_000_000..<1_000_700))
        let lineCount = orders.reduce(0) { $0 + (($1["Items"] as? [Any])?.count ?? 0) }
        let db = dir.appendingPathComponent("out/orders-export/orders.sqlite").path
        #expect(try sqliteRows(db, "SELECT count(*), count(DISTINCT order_id) FROM order_lines") == [[String(lineCount), String(orders.filter { !(($0["Items"] as? [Any])?.isEmpty ?? true) }.count)]])
        let csv = try String(contentsOf: dir.appendingPathComponent("out/orders-export/order-lines.csv"), encoding: .utf8)
        #expect(csv.hasPrefix("order_id,created,status,charged_currency,currency,exchange_rate,line,sku,ean,quantity,price,discount,tax,line_status\n"))
        // Leading zeros survive: some generated EANs start with 00.
        #expect(try sqliteRows(db, "SELECT count(*) > 0 FROM order_lines WHERE ean LIKE '00%'") == [["1"]])
    }

    @Test func nightlyCatalogRunsAgainstTheBuiltInDemoStore() throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try runCLI(["run", "pipelines/nightly-catalog.yml"], in: dir, environment: ["AURORA_XML_URL": "demo:?orders=10&products=300&seed=2"])
        #expect(r.status == 0, "\(r.stderr)")
        let db = dir.appendingPathComponent("out/nightly-catalog/catalog.sqlite").path
        let text = String(decoding: try gunzip(dir.appendingPathComponent("out/nightly-catalog/products.ndjson.gz")), as: UTF8.self)
        let products = try text.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(Set(products.map { $0["ProductID"] as! Int }) == Set(1...300))
        let variations = products.reduce(0) { $0 + (($1["Variations"] as? [Any])?.count ?? 0) }
        #expect(try sqliteRows(db, "SELECT count(*), count(DISTINCT variation_id) FROM variants") == [[String(variations), String(variations)]])
        #expect(try sqliteRows(db, "SELECT max(n) >= 40 FROM (SELECT count(*) AS n FROM variants GROUP BY product_id)") == [["1"]])
    }

    @Test func americommerceMigrationFillsOneDatabase() throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try runCLI(["run", "pipelines/americommerce-migration.yml"], in: dir,
                           environment: ["AMERICOMMERCE_URL": "demo:?orders=400&products=120&seed=3&faults=all%3D0.2"])
        #expect(r.status == 0, "\(r.stderr)")
        let db = dir.appendingPathComponent("out/americommerce-migration/store.sqlite").path
        #expect(try sqliteRows(db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name") == [["order_items"], ["orders"], ["products"], ["variants"]])
        #expect(try sqliteRows(db, "SELECT count(*), min(id), max(id) FROM products") == [["120", "1", "120"]])
        #expect(try sqliteRows(db, "SELECT count(*), count(DISTINCT id) FROM orders") == [["400", "400"]])
        // Every variant and item belongs to a product and an order, and the archives hold the same.
        #expect(try sqliteRows(db, "SELECT count(*) FROM variants WHERE product_id NOT IN (SELECT id FROM products)") == [["0"]])
        #expect(try sqliteRows(db, "SELECT count(*) FROM order_items WHERE order_id NOT IN (SELECT id FROM orders)") == [["0"]])
        let text = String(decoding: try gunzip(dir.appendingPathComponent("out/americommerce-migration/orders.ndjson.gz")), as: UTF8.self)
        let orders = try text.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        let items = orders.reduce(0) { $0 + (($1["items"] as? [Any])?.count ?? 0) }
        #expect(try sqliteRows(db, "SELECT count(*) FROM order_items") == [[String(items)]])
        // Money is exact: the order totals add up in SQLite as in the archive's text.
        #expect(text.contains("\"grand_total\":"))
    }

    @Test func reportingFeedLinesAddUpInGBP() throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try runCLI(["run", "pipelines/reporting-feed.yml"], in: dir, environment: ["AURORA_XML_URL": "demo:?orders=800&products=80&seed=4"])
        #expect(r.status == 0, "\(r.stderr)")
        let db = dir.appendingPathComponent("out/reporting-feed/reporting.sqlite").path
        #expect(try sqliteRows(db, "SELECT DISTINCT currency FROM order_lines") == [["GBP"]])
        // Orders charged in EUR were converted with the reference rates; the rest needed nothing.
        #expect(try sqliteRows(db, "SELECT count(*) > 0 FROM order_lines WHERE rate_source = 'table'") == [["1"]])
        #expect(try sqliteRows(db, "SELECT count(*) FROM order_lines WHERE discount_check IS NOT NULL") == [["0"]])
        #expect(try sqliteRows(db, "SELECT count(*) FROM order_lines WHERE status = 'Cancelled'") == [["0"]])
        // Per line, in pennies: net = gross - line discount - share.
        #expect(try sqliteRows(db, "SELECT count(*) FROM order_lines WHERE round(gross_amount * 100) - round(line_discount * 100) - round(order_discount_share * 100) != round(net_amount * 100)") == [["0"]])

        // Exact money (decimals: text, minor_units: 2): the amounts keep their digits as text,
        // the same as the CSV of the same run, and the pence beside them add up exactly.
        #expect(try sqliteRows(db, "SELECT DISTINCT typeof(net_amount), typeof(net_amount_minor) FROM order_lines") == [["text", "integer"]])
        #expect(try sqliteRows(db, "SELECT type FROM pragma_table_info('order_lines') WHERE name IN ('net_amount', 'net_amount_minor') ORDER BY cid")
                == [["DECIMAL TEXT"], ["INTEGER"]])
        let csv = try CSVReader(string: String(contentsOf: dir.appendingPathComponent("out/reporting-feed/order-lines.csv"), encoding: .utf8),
                                hasHeaderRow: true)
        let column = try #require(csv.headerRow?.firstIndex(of: "net_amount"))
        var csvAmounts: [String] = []
        while let row = csv.next() { csvAmounts.append(row[column]) }
        let stored = try sqliteRows(db, "SELECT net_amount, net_amount_minor FROM order_lines ORDER BY rowid")
        #expect(stored.count == csvAmounts.count && stored.count > 100)
        #expect(stored.map { $0[0] ?? "" } == csvAmounts)
        #expect(csvAmounts.contains { $0.hasSuffix("0") && $0.contains(".") }, "some amount ends in 0, which a float would drop")
        let pence = csvAmounts.reduce(Decimal(0)) { $0 + Decimal(string: $1)! * 100 }
        #expect(try sqliteRows(db, "SELECT sum(net_amount_minor) FROM order_lines") == [["\(pence)"]])
        for row in stored { #expect(Decimal(string: row[0]!)! * 100 == Decimal(string: row[1]!)!) }
    }

    @Test func onErrorSkipAndQuarantine() throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        // No rates: orders taken in another currency than they were charged in convert with their
        // own ExchangeRate; to CHF nothing can convert, so every order fails the step.
        for (policy, expected) in [("skip", "skipped"), ("{ quarantine: out/bad.ndjson }", "quarantined")] {
            let yaml = """
                version: 1
                name: onerror
                connections:
                  recorded: { type: files, dialect: aurora-xml, paths: [samples/aurora-xml/order-get-*.xml] }
                extract:
                  orders: { connection: recorded, resource: orders }
                transform:
                  chf:
                    input: orders
                    steps:
                      - convert_currency: { to: CHF }
                        on_error: \(policy)
                load:
                  out: { input: chf, csv: { path: out/chf.csv } }
                """
            try yaml.write(to: dir.appendingPathComponent("p.yml"), atomically: true, encoding: .utf8)
            let r = try runCLI(["run", "p.yml"], in: dir)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.contains(expected == "skipped" ? "stage chf: 4 record(s) skipped, 0 quarantined" : "stage chf: 0 record(s) skipped, 4 quarantined"))
        }
        let lines = try String(contentsOf: dir.appendingPathComponent("out/bad.ndjson"), encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 4)
        let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as! [String: Any]
        #expect(first["stage"] as? String == "chf" && first["step"] as? String == "convert_currency")
        #expect(first["reason"] as? String == "OrderID 12345678: no rate from GBP to CHF (the order carries no ExchangeRate for it and the step has no rates)")
        #expect((first["record"] as? [String: Any])?["OrderID"] as? Int == 12345678)

        // Without on_error the first bad record fails the run, naming stage, step and record.
        let failing = try String(contentsOf: dir.appendingPathComponent("p.yml"), encoding: .utf8)
            .replacingOccurrences(of: "\n        on_error: { quarantine: out/bad.ndjson }", with: "")
        try failing.write(to: dir.appendingPathComponent("p.yml"), atomically: true, encoding: .utf8)
        let r = try runCLI(["run", "p.yml"], in: dir)
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("error: stage 'chf': step convert_currency: OrderID 12345678: no rate from GBP to CHF"))
    }

    @Test func planShowsTheGraphAndTargets() throws {
        let r = try runCLI(["plan", "pipelines/seed-examples.yml"], in: Fixtures.packageRoot)
        #expect(r.status == 0)
        #expect(r.stdout.contains("    transform lines (explode, select; "))
        #expect(r.stdout.contains("      load lines_csv -> csv out/order-lines.csv"))
        #expect(r.stdout.contains("    load orders_archive -> ndjson_gz out/orders.ndjson.gz"))
        // Quarantine files are outputs too: shown under the stage whose steps write them.
        let feed = try runCLI(["plan", "pipelines/reporting-feed.yml"], in: Fixtures.packageRoot)
        let lines = feed.stdout.split(separator: "\n").map(String.init)
        let transform = try #require(lines.firstIndex { $0.hasPrefix("    transform lines (") })
        #expect(lines[transform + 1] == "      quarantine -> ndjson out/reporting-feed/unconverted.ndjson (records convert_currency cannot process)", "\(feed.stdout)")
    }
}
