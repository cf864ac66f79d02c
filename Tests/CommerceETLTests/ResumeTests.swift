// Checkpoint and resume: the CLI is killed (SIGKILL, no chance to clean up) at many points of a
// run against a demo store with faults on, run again until it finishes, and its outputs are
// compared with an uninterrupted run's: files byte for byte, SQLite tables row for row.
import CSQLite
import Foundation
import Synchronization
import Testing
@testable import CommerceETL
@testable import DemoStore

@Suite(.serialized) struct ResumeTests {
    /// Orders → lines (CSV, SQLite append), orders (rotated NDJSON.gz, SQLite replace with child
    /// tables), products over AmeriCommerce (SQLite upsert into the same file).
    private func pipelineYAML(xml: String, americommerce: String, every: Int = 2) -> String {
        """
        version: 1
        name: resume-test
        checkpoint_every: \(every)
        connections:
          aurora: { type: aurora-xml, url: "\(xml)", token: t, concurrency: 3, retries: 6 }
          store: { type: americommerce, url: "\(americommerce)", token: t, concurrency: 2, retries: 6 }
          rest: { type: aurora-rest, url: "\(americommerce)", client_id: c, client_secret: s, concurrency: 2, retries: 6 }
        extract:
          orders: { connection: aurora, resource: orders, detail_level: Full, page_size: 20 }
          products: { connection: store, resource: products, count: 15 }
          customers: { connection: rest, resource: orders, page_size: 25 }
        transform:
          lines:
            input: orders
            steps:
              - explode: { path: Items, parent_as: order }
              - select: { order_id: order.OrderID, sku: VariationReference, ean: VariationEAN, quantity: Quantity, price: Price }
        load:
          lines_csv: { input: lines, csv: { path: out/lines.csv } }
          orders_gz: { input: orders, ndjson_gz: { path: out/orders.ndjson.gz, rotate: { max_records: 90 } } }
          orders_db: { input: orders, sqlite: { path: out/store.sqlite, table: orders, child_tables: true } }
          lines_db: { input: lines, sqlite: { path: out/store.sqlite, table: lines, mode: append } }
          products_db: { input: products, sqlite: { path: out/store.sqlite, table: products, mode: upsert, key: [id] } }
          rest_orders: { input: customers, ndjson_gz: { path: out/rest-orders.ndjson.gz } }
        """
    }

    /// Every table's rows in rowid order, read with the SQLite C API.
    private func tables(_ path: String) throws -> [String: [[String?]]] {
        var out: [String: [[String?]]] = [:]
        for row in try sqliteRows(path, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name") {
            let name = row[0]!
            out[name] = try sqliteRows(path, "SELECT rowid, * FROM \"\(name)\" ORDER BY rowid")
        }
        return out
    }

    /// Files under `dir`, relative, sorted (hidden ones included).
    private func listing(_ dir: URL) -> [String] {
        Fixtures.files(in: dir)
    }

    @Test func runsKilledAtManyPointsResumeToIdenticalOutputs() async throws {
        let faults = try FaultPlan(parsing: "all=0.1")
        var config = DemoStoreConfig(orders: 420, products: 120, seed: 33, faults: faults)
        config.maxPageSize = 1000
        let server = try await DemoStoreServer.start(config)
        defer { Task { await server.stop() } }
        let yaml = pipelineYAML(xml: server.xmlURL, americommerce: server.americommerceURL)
        let reference = try Fixtures.workspace()
        let killed = try Fixtures.workspace()
        let logs = try Fixtures.workspace()
        defer { for d in [reference, killed, logs] { try? FileManager.default.removeItem(at: d) } }
        for dir in [reference, killed] { try yaml.write(to: dir.appendingPathComponent("p.yml"), atomically: true, encoding: .utf8) }

        let uninterrupted = try await runCLIAsync(["run", "p.yml"], in: reference)
        #expect(uninterrupted.status == 0, "\(uninterrupted.stderr)")

        // Kill at a different moment each time: after a delay, or just after a checkpoint was saved.
        let checkpoint = killed.appendingPathComponent(".commerce-etl/state/resume-test/checkpoint.json")
        let runs = try await KilledRuns.run(["run", "p.yml"], in: killed, checkpoint: checkpoint,
                                           manifest: killed.appendingPathComponent("out/resume-test.manifest.json"), logs: logs)
        #expect(runs.status == 0, "\(runs.lastLog)")
        #expect(runs.kills >= 5, "the run should have been killed several times, was \(runs.kills)")
        #expect(runs.continued >= 3)

        // The same files, byte for byte, and nothing else left behind (no temporary files, no checkpoint).
        let out = reference.appendingPathComponent("out"), out2 = killed.appendingPathComponent("out")
        #expect(listing(killed).filter { !$0.hasPrefix("out/") } == ["out", "p.yml"])
        #expect(listing(out2) == listing(out))
        for name in listing(out) where !name.hasSuffix(".json") && !name.hasSuffix(".sqlite") {
            let a = try Data(contentsOf: out.appendingPathComponent(name)), b = try Data(contentsOf: out2.appendingPathComponent(name))
            #expect(a == b, "\(name) differs")
        }
        // Every gzip part is whole.
        for name in listing(out2) where name.hasSuffix(".gz") { _ = try gunzip(out2.appendingPathComponent(name)) }
        // The same tables, row for row (rowids included).
        let a = try tables(out.appendingPathComponent("store.sqlite").path)
        let b = try tables(out2.appendingPathComponent("store.sqlite").path)
        #expect(a.keys.sorted() == b.keys.sorted())
        for (name, rows) in a { #expect(b[name] == rows, "table \(name) differs") }
        #expect(a["lines"]?.count == a["orders__items"]?.count)
        #expect(a["products"]?.count == 120)
        #expect(a["orders"]?.count == 420)
    }

    @Test func anExpiredPagingTokenStartsTheExtractOverAndRemovesWhatItWrote() async throws {
        // The pipeline's demo store lives inside the process: killing it loses every paging token.
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let yaml = """
            version: 1
            name: token-test
            checkpoint_every: 1
            connections:
              aurora: { type: aurora-xml, url: "demo:?orders=900&products=10", token: t }
            extract:
              orders: { connection: aurora, resource: orders, page_size: 10 }
            load:
              orders_csv: { input: orders, csv: { path: out/orders.csv } }
              orders_db: { input: orders, sqlite: { path: out/orders.sqlite, table: orders, mode: append } }
            """
        try yaml.write(to: dir.appendingPathComponent("p.yml"), atomically: true, encoding: .utf8)
        let checkpoint = dir.appendingPathComponent(".commerce-etl/state/token-test/checkpoint.json")
        let log = dir.appendingPathComponent("run.log")
        let process = try startCLI(["run", "p.yml"], in: dir, log: log)
        let deadline = Date().addingTimeInterval(20)
        while process.isRunning, Date() < deadline {
            if let saved = try? SavedCheckpoint.load(directory: checkpoint.deletingLastPathComponent().path),
               let orders = saved.extracts["orders"], orders.pages >= 5, !orders.final { break }
            usleep(2_000)
        }
        try #require(process.isRunning, "the run ended before it could be killed")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let saved = try #require(try SavedCheckpoint.load(directory: checkpoint.deletingLastPathComponent().path))
        #expect(saved.extracts["orders"]?.pages ?? 0 >= 5)

        let resumed = try runCLI(["run", "p.yml", "--resume"], in: dir)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("no longer knows the interrupted run's paging token"), "\(resumed.stderr)")
        #expect(resumed.stderr.contains("starts over"))
        // Nothing twice: the rows committed before the kill were taken back.
        let ids = try sqliteRows(dir.appendingPathComponent("out/orders.sqlite").path, "SELECT OrderID FROM orders ORDER BY rowid").map { $0[0]! }
        #expect(ids.count == 900)
        #expect(Set(ids).count == 900)
        let csv = try String(contentsOf: dir.appendingPathComponent("out/orders.csv"), encoding: .utf8)
        #expect(csv.split(separator: "\n").first?.hasPrefix("OrderID,") == true)
        #expect(!FileManager.default.fileExists(atPath: checkpoint.path))
        #expect(Fixtures.files(in: dir.appendingPathComponent("out")).allSatisfy { !$0.hasPrefix(".") })
    }

    @Test func aFailedRunKeepsItsCheckpointAndContinuesOrIsDiscardedByStateReset() async throws {
        let server = try await DemoStoreServer.start(DemoStoreConfig(orders: 300, products: 10, seed: 34, faults: try FaultPlan(parsing: "500=0.08")))
        defer { Task { await server.stop() } }
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        // Without retries a fault fails the run part way; the retries come from the environment,
        // so the pipeline file (which a resumed run must find unchanged) stays the same.
        let yaml = """
            version: 1
            name: fail-test
            checkpoint_every: 1
            connections:
              aurora:
                type: aurora-xml
                url: "\(server.xmlURL)"
                token: t
                concurrency: 1
                retries: ${RETRIES}
            extract:
              orders: { connection: aurora, resource: orders, page_size: 10 }
            transform:
              ids: { input: orders, steps: [ { select: { id: OrderID, total: OrderTotal } } ] }
            load:
              ids_db: { input: ids, sqlite: { path: out/ids.sqlite, table: ids, mode: append } }
              ids_csv: { input: ids, csv: { path: out/ids.csv } }
            """
        try yaml.write(to: dir.appendingPathComponent("p.yml"), atomically: true, encoding: .utf8)
        let db = dir.appendingPathComponent("out/ids.sqlite").path
        func count() throws -> Int { Int(try sqliteRows(db, "SELECT count(*) FROM ids")[0][0]!)! }
        func distinct() throws -> Int { Int(try sqliteRows(db, "SELECT count(DISTINCT id) FROM ids")[0][0]!)! }

        let first = try await runCLIAsync(["run", "p.yml"], in: dir, environment: ["RETRIES": "6"])
        #expect(first.status == 0, "\(first.stderr)")
        let csv = try Data(contentsOf: dir.appendingPathComponent("out/ids.csv"))
        #expect(try count() == 300)

        // Fails part way: what the checkpoints made durable stays, and the run says how to go on.
        let failed = try await runCLIAsync(["run", "p.yml"], in: dir, environment: ["RETRIES": "0"])
        #expect(failed.status == 1)
        #expect(failed.stderr.contains("run the same command again to continue it"), "\(failed.stderr)")
        let appended = try count() - 300
        #expect(appended > 0 && appended < 300, "rows committed at checkpoints: \(appended)")
        let show = try await runCLIAsync(["state", "show", "p.yml"], in: dir, environment: ["RETRIES": "0"])
        #expect(show.stdout.contains("unfinished run"), "\(show.stdout)")

        // The next run continues it: every order once more, none twice, the CSV as before.
        let resumed = try await runCLIAsync(["run", "p.yml"], in: dir, environment: ["RETRIES": "6"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("continuing the interrupted"))
        #expect(try count() == 600)
        #expect(try distinct() == 300)
        #expect(try Data(contentsOf: dir.appendingPathComponent("out/ids.csv")) == csv)
        // Its summary counts every stage on one basis (what the interrupted run did included):
        // the same table as the uninterrupted first run, the transform's line too.
        func table(_ stdout: String) -> [String] { stdout.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("run ") } }
        #expect(table(resumed.stdout) == table(first.stdout), "\(first.stdout)\n---\n\(resumed.stdout)")
        #expect(table(first.stdout).contains { $0.range(of: #"^ids +transform +300 +300"#, options: .regularExpression) != nil }, "\(first.stdout)")

        // Fails again; this time the interrupted run is discarded: its appended rows and files go.
        let again = try await runCLIAsync(["run", "p.yml"], in: dir, environment: ["RETRIES": "0"])
        #expect(again.status == 1)
        #expect(try count() > 600)
        let reset = try await runCLIAsync(["state", "reset", "p.yml"], in: dir, environment: ["RETRIES": "0"])
        #expect(reset.status == 0, "\(reset.stderr)")
        #expect(reset.stdout.contains("discarded the unfinished run"), "\(reset.stdout)")
        #expect(try count() == 600)
        #expect(Fixtures.files(in: dir.appendingPathComponent("out")).allSatisfy { !$0.hasPrefix(".") })
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent(".commerce-etl/state/fail-test/checkpoint.json").path))
    }

    @Test func aSecondRunOfTheSamePipelineWaitsForNoOneAndSaysWhy() async throws {
        let server = try await DemoStoreServer.start(DemoStoreConfig(orders: 200, products: 10, seed: 35, latency: .milliseconds(150)))
        defer { Task { await server.stop() } }
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let yaml = """
            version: 1
            name: lock-test
            connections: { aurora: { type: aurora-xml, url: "\(server.xmlURL)", token: t, concurrency: 1 } }
            extract: { orders: { connection: aurora, resource: orders, page_size: 10 } }
            load: { ids: { input: orders, csv: { path: out/orders.csv, columns: [OrderID] } } }
            """
        try yaml.write(to: dir.appendingPathComponent("p.yml"), atomically: true, encoding: .utf8)
        let first = try startCLI(["run", "p.yml"], in: dir, log: dir.appendingPathComponent("first.log"))
        let lock = dir.appendingPathComponent(".commerce-etl/state/lock-test/lock")
        let deadline = Date().addingTimeInterval(10)
        while first.isRunning, Date() < deadline, !FileManager.default.fileExists(atPath: lock.path) { usleep(2_000) }
        let second = try runCLI(["run", "p.yml"], in: dir)
        // Its own exit code, so a scheduler can tell "still running" from "failed".
        #expect(second.status == 3)
        #expect(second.stderr.contains("another run of 'lock-test' is in progress"), "\(second.stderr)")
        first.waitUntilExit()
        #expect(first.terminationStatus == 0)
        #expect(try runCLI(["run", "p.yml"], in: dir).status == 0)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent(".commerce-etl").path))
    }

    @Test func aRunStoppedWhilePublishingIsFinishedByTheNextWithoutReadingAgain() async throws {
        var registry = StageRegistry.standard
        registry.loads.append(.init(name: "flaky_commit", parse: FlakyCommitLoad.parse))
        func pipeline(_ name: String) throws -> Pipeline {
            let yaml = """
                version: 1
                name: publish-test
                connections: { recorded: { type: files, dialect: aurora-xml, paths: [samples/aurora-xml/order-get-*.xml] } }
                extract: { orders: { connection: recorded, resource: orders } }
                load:
                  orders_csv: { input: orders, csv: { path: out/orders.csv } }
                  orders_db: { input: orders, sqlite: { path: out/orders.sqlite, table: orders, child_tables: true } }
                  flaky: { input: orders, flaky_commit: { name: \(name) } }
                """
            let outcome = PipelineLoader.load(yaml: yaml, file: "p.yml", environment: [:], registry: registry)
            return try #require(outcome.pipeline, "\(outcome.diagnostics)")
        }
        let reference = try Fixtures.workspace(), dir = try Fixtures.workspace()
        defer { for d in [reference, dir] { try? FileManager.default.removeItem(at: d) } }
        let expected = try await PipelineRunner(pipeline: try pipeline("never"), log: quietLog(), workingDirectory: reference.path).run()

        FlakyCommitLoad.failures.withLock { _ = $0.insert("once") }
        await #expect(throws: RunStopped.self) {
            try await PipelineRunner(pipeline: try pipeline("once"), log: quietLog(), workingDirectory: dir.path).run()
        }
        let stateDir = dir.appendingPathComponent(".commerce-etl/state/publish-test").path
        #expect(try SavedCheckpoint.load(directory: stateDir)?.publishing != nil)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("out/orders.csv").path))

        let report = try await PipelineRunner(pipeline: try pipeline("once"), log: quietLog(), workingDirectory: dir.path).run()
        // The summary and manifest still count the whole run.
        #expect(report.stages.first { $0.id == "orders_csv" }?.rows == expected.stages.first { $0.id == "orders_csv" }?.rows)
        #expect(report.manifest != nil)
        #expect(try Data(contentsOf: dir.appendingPathComponent("out/orders.csv")) == Data(contentsOf: reference.appendingPathComponent("out/orders.csv")))
        for table in ["orders", "orders__items"] {
            let a = try sqliteRows(reference.appendingPathComponent("out/orders.sqlite").path, "SELECT rowid, * FROM \(table) ORDER BY rowid")
            let b = try sqliteRows(dir.appendingPathComponent("out/orders.sqlite").path, "SELECT rowid, * FROM \(table) ORDER BY rowid")
            #expect(!a.isEmpty && a == b, "table \(table)")
        }
        #expect(try sqliteRows(dir.appendingPathComponent("out/orders.sqlite").path, "SELECT name FROM sqlite_master WHERE name LIKE '_cetl_new_%'").isEmpty)
        #expect(try SavedCheckpoint.load(directory: stateDir) == nil)
        #expect(Fixtures.files(in: dir.appendingPathComponent("out")).allSatisfy { !$0.hasPrefix(".") })
    }
}

/// A load whose commit fails once for a given name (a database that cannot commit while publishing).
struct FlakyCommitLoad: LoadFormat {
    static let failures = Mutex<Set<String>>([])
    var name: String
    var target: String { "flaky \(name)" }
    static func parse(_ value: ConfigValue) -> (any LoadFormat)? {
        guard let c = value.map(), let name = c.string("name", required: true) else { return nil }
        return FlakyCommitLoad(name: name)
    }
    func makeWriter(_ run: RunContext, resume: Value?) throws -> any LoadWriter {
        // It stands for a database beside the pipeline's own (the manifest hashes the file a commit names).
        FlakyCommitWriter(name: name, file: run.workingDirectory + "/out/orders.sqlite")
    }
}

final class FlakyCommitWriter: LoadWriter {
    let name: String
    let file: String
    init(name: String, file: String) {
        self.name = name
        self.file = file
    }
    func write(_ records: [Record]) throws {}
    func finish() throws -> LoadResult {
        let name = name
        return LoadResult(staged: [], rows: 0, bytes: 0, commit: CommitAction(target: file, commit: {
            if FlakyCommitLoad.failures.withLock({ $0.remove(name) != nil }) { throw ETLError("disk full (simulated)") }
        }, rollback: {}))
    }
    func abort() {}
    // Nothing written: nothing to make durable or to continue.
    func checkpoint(final: Bool) throws -> Value { .null }
    func restart() throws {}
    func suspend() {}
}
