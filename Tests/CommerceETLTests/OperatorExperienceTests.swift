// What an operator sees while a run goes on: live progress on a terminal (run under a real
// pseudo-terminal here), plain progress and retry lines with -v elsewhere, JSON lines for log
// shippers, --quiet, and the exit code of a run that finds another one in progress.
import AsyncHTTPClient
import DemoStore
import Foundation
import Synchronization
import Testing
@testable import CommerceETL

/// A pipeline reading `orders` orders from a built-in demo store that answers slowly.
private func slowPipeline(orders: Int = 800, latencyMS: Int = 300, faults: String = "") -> String {
    """
    version: 1
    name: slow
    connections:
      shop: { type: aurora-xml, url: "demo:?orders=\(orders)&products=10&latency=\(latencyMS)\(faults.isEmpty ? "" : "&faults=" + faults)", concurrency: 1 }
    extract:
      orders: { connection: shop, resource: orders }
    load:
      ids: { input: orders, csv: { path: out/ids.csv, columns: [OrderID] } }
    """
}

/// The screen a terminal shows after `bytes`: enough of a VT100 for what the console sends
/// (CR, LF, cursor up `ESC[nA`, erase to the end of the screen `ESC[J`).
private func screen(after bytes: [UInt8]) -> [String] {
    var lines: [[Character]] = [[]]
    var row = 0, col = 0
    let text = Array(String(decoding: bytes, as: UTF8.self))
    var i = 0
    while i < text.count {
        let c = text[i]
        if c == "\u{1B}", i + 1 < text.count, text[i + 1] == "[" {
            var j = i + 2
            var number = ""
            while j < text.count, text[j].isNumber { number.append(text[j]); j += 1 }
            if j < text.count {
                if text[j] == "A" { row = max(0, row - (Int(number) ?? 1)) }
                if text[j] == "J" {
                    lines[row] = Array(lines[row].prefix(col))
                    lines.removeSubrange((row + 1)...)
                }
            }
            i = j + 1
            continue
        }
        switch c {
        case "\r": col = 0
        case "\n", "\r\n":
            if c == "\r\n" { col = 0 }
            row += 1
            if row == lines.count { lines.append([]) }
        default:
            while lines[row].count < col { lines[row].append(" ") }
            if col < lines[row].count { lines[row][col] = c } else { lines[row].append(c) }
            col += 1
        }
        i += 1
    }
    return lines.map { String($0) }.filter { !$0.isEmpty }
}

@Suite(.timeLimit(.minutes(2)))
struct OperatorExperienceTests {
    // A machine without pseudo-terminals (a container without /dev/pts) reports this test as skipped.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/dev/ptmx"), "needs pseudo-terminals (/dev/ptmx)"))
    func aRunOnATerminalShowsLiveProgressAndClearsItForTheSummary() async throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        try slowPipeline().write(to: dir.appendingPathComponent("p.yml"), atomically: true, encoding: .utf8)
        // A pseudo-terminal for standard output and error, as an interactive shell gives.
        // (posix_openpt and friends are not visible from Swift: their ioctls, as glibc does it.)
        let master = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        try #require(master >= 0)
        defer { close(master) }
        var unlock: Int32 = 0, number: UInt32 = 0
        try #require(ioctl(master, 0x4004_5431 /* TIOCSPTLCK */, &unlock) == 0)
        try #require(ioctl(master, 0x8004_5430 /* TIOCGPTN */, &number) == 0)
        let slave = open("/dev/pts/\(number)", O_RDWR | O_NOCTTY)
        try #require(slave >= 0)
        let process = cliProcess(["run", "p.yml"], in: dir)
        let terminal = FileHandle(fileDescriptor: slave, closeOnDealloc: true)
        process.standardOutput = terminal
        process.standardError = terminal
        let received = Mutex<[UInt8]>([])
        // Read on a thread of its own and wait without blocking the test's executor (other tests
        // time their runs on it).
        let drained = DispatchGroup()
        drained.enter()
        let reader = Thread {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = read(master, &buffer, buffer.count)
                if n <= 0 { break }
                received.withLock { $0 += buffer[..<n] }
            }
            drained.leave()
        }
        reader.start()
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            process.terminationHandler = { _ in done.resume() }
            do { try process.run() } catch { done.resume() }
        }
        try terminal.close()
        // Everything the child wrote is in the master's buffer; the reader stops once it is drained.
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in drained.notify(queue: .global()) { done.resume() } }
        let bytes = received.withLock { $0 }
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(text)")

        // While it ran: a live line per stage, redrawn (cursor moved back up and erased).
        #expect(text.contains("orders  extract     200 records"), "\(text)")
        #expect(text.contains("ids     load"), "\(text)")
        #expect(text.contains("\u{1B}[1A\u{1B}[J"), "no redraw in: \(text.debugDescription)")
        // At the end the screen holds the summary and nothing of the progress.
        let final = screen(after: bytes)
        #expect(final.first == "stage   kind     in   out  bytes  target", "\(final)")
        #expect(final.contains { $0.hasPrefix("orders  extract  -    800") }, "\(final)")
        #expect(!final.contains { $0.contains("records") }, "\(final)")
        #expect(final.last?.hasPrefix("run ") == true, "\(final)")
    }

    @Test func verboseOffATerminalPrintsProgressLinesAndEachRetry() async throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        // Five pages at 400 ms each take two seconds at least: two progress intervals of 1 s.
        try slowPipeline(orders: 800, latencyMS: 400, faults: "503=0.3").write(to: dir.appendingPathComponent("p.yml"), atomically: true, encoding: .utf8)
        let result = try await runCLIAsync(["run", "-v", "--progress-interval", "1", "p.yml"], in: dir)
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stderr.split(separator: "\n").map(String.init)
        // Progress: plain lines, nothing redrawn.
        #expect(!result.stderr.contains("\u{1B}["))
        let progress = lines.filter { $0.hasPrefix("info: stage 'orders': ") && $0.contains(" records ") }
        #expect(!progress.isEmpty, "\(result.stderr)")
        #expect(progress.allSatisfy { $0.range(of: #"^info: stage 'orders': [0-9,]+ records (so far \([0-9,]+/s\)|\(done\)), [0-9,]+ pages?"#, options: .regularExpression) != nil }, "\(progress)")
        // Each retry as it happens: which request, why, which attempt and when.
        let retries = lines.filter { $0.contains("HTTP 503") }
        #expect(!retries.isEmpty, "\(result.stderr)")
        #expect(retries.allSatisfy { $0.range(of: #"^info: stage 'orders': page [0-9]+: HTTP 503 from .*; attempt [2-6] of 6 in [0-9.]+ s$"#, options: .regularExpression) != nil }, "\(retries)")
        // The summary still ends the output.
        #expect(result.stdout.contains("ids     load     800  800"), "\(result.stdout)")
    }

    @Test func withoutVerboseOnlyTheSummaryAndWithQuietNothing() async throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        try slowPipeline(orders: 400, latencyMS: 0, faults: "503=0.3").write(to: dir.appendingPathComponent("p.yml"), atomically: true, encoding: .utf8)
        let plain = try await runCLIAsync(["run", "p.yml"], in: dir)
        #expect(plain.status == 0 && plain.stderr.isEmpty, "\(plain.stderr)")
        #expect(plain.stdout.contains("finished in"))
        let quiet = try await runCLIAsync(["run", "--quiet", "p.yml"], in: dir)
        #expect(quiet.status == 0 && quiet.stderr.isEmpty && quiet.stdout.isEmpty, "\(quiet.stdout)\(quiet.stderr)")
        let failed = try await runCLIAsync(["run", "--quiet", "missing.yml"], in: dir)
        #expect(failed.status == 2 && failed.stderr.contains("error: cannot read the pipeline file"))
    }

    @Test func jsonLogFormatMakesEveryLineAJSONObject() async throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        try slowPipeline(orders: 600, latencyMS: 0, faults: "503=0.3").write(to: dir.appendingPathComponent("p.yml"), atomically: true, encoding: .utf8)
        let result = try await runCLIAsync(["run", "-v", "--log-format", "json", "p.yml"], in: dir)
        #expect(result.status == 0, "\(result.stderr)")
        let messages = try result.stderr.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(!messages.isEmpty)
        for m in messages {
            #expect((m["time"] as? String)?.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"#, options: .regularExpression) != nil, "\(m)")
            #expect(["error", "warning", "notice", "info"].contains(m["level"] as? String ?? ""), "\(m)")
            #expect(m["message"] is String)
        }
        let retry = try #require(messages.first { ($0["message"] as? String)?.contains("HTTP 503") == true })
        #expect(retry["stage"] as? String == "orders")
        #expect((retry["fields"] as? [String: Any])?["attempt"] as? String == "2")
        // The summary is one JSON object too, with the counts as fields.
        let summary = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        let fields = try #require(summary["fields"] as? [String: Any])
        let stages = try #require(fields["stages"] as? [[String: Any]])
        #expect(stages.map { $0["id"] as? String } == ["orders", "ids"])
        #expect(stages.last?["records_out"] as? String == "600")

        // A pipeline that does not validate: the located errors as JSON, file/line/column as fields.
        try "version: 1\nname: bad\nextract: {}\n".write(to: dir.appendingPathComponent("bad.yml"), atomically: true, encoding: .utf8)
        let bad = try await runCLIAsync(["run", "--log-format", "json", "bad.yml"], in: dir)
        #expect(bad.status == 2)
        let errors = try bad.stderr.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(errors.first?["level"] as? String == "error")
        #expect(((errors.first?["fields"] as? [String: Any])?["file"] as? String) == "bad.yml", "\(bad.stderr)")
    }

    @Test func runIDsHaveOneWidthAndTheVersionIsPrinted() async throws {
        let ids = (0..<2000).map { _ in PipelineRunner.makeRunID(Date(timeIntervalSince1970: 1_780_000_000)) }
        #expect(Set(ids.map(\.count)) == [25], "\(ids.filter { $0.count != 25 })")
        #expect(ids.allSatisfy { $0.range(of: #"^20260528T202640Z-[0-9a-f]{8}$"#, options: .regularExpression) != nil })
        let version = try await runCLIAsync(["--version"], in: Fixtures.packageRoot)
        #expect(version.status == 0 && version.stdout == CommerceETLVersion.current + "\n")
    }
}

/// `preview` and `check` against a demo store served over HTTP by the test.
@Suite(.timeLimit(.minutes(2)))
struct PreviewAndCheckTests {
    private func pipeline(_ server: DemoStoreServer, token: String = "${AURORA_TOKEN}", extra: String = "", loadDir: String = "out") -> String {
        """
        version: 1
        name: try-me
        connections:
          shop: { type: aurora-xml, url: "\(server.xmlURL)", token: "\(token)", retries: 1 }
          rest: { type: aurora-rest, url: "\(server.auroraRESTURL)", client_id: reporting, client_secret: "${REST_SECRET}", retries: 1 }
        extract:
          orders: { connection: shop, resource: orders, page_size: 50, incremental: { field: DateModified }, tracking: { filter: unsent, acknowledge: true }\(extra) }
          products: { connection: rest, resource: products, page_size: 25 }
        transform:
          lines: { input: orders, steps: [ { explode: { path: Items, parent_as: order } }, { select: { order_id: order.OrderID, sku: VariationReference, quantity: Quantity } } ] }
        load:
          lines_csv: { input: lines, csv: { path: "\(loadDir)/lines-{run_id}.csv" } }
          products_db: { input: products, sqlite: { path: "\(loadDir)/catalog.sqlite", table: products } }
        """
    }

    @Test func previewShowsWhatTheLoadsReceiveAndChangesNothing() async throws {
        let server = try await DemoStoreServer.start(DemoStoreConfig(orders: 120, products: 40, seed: 11, token: "right"))
        defer { Task { await server.stop() } }
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        try pipeline(server).write(to: dir.appendingPathComponent("p.yml"), atomically: true, encoding: .utf8)
        let env = ["AURORA_TOKEN": "right", "REST_SECRET": "s3cret-value"]

        let table = try await runCLIAsync(["preview", "p.yml", "--limit", "3"], in: dir, environment: env)
        #expect(table.status == 0, "\(table.stderr)")
        let lines = table.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.first?.hasPrefix("lines, as lines_csv receives it: ") == true, "\(table.stdout)")
        #expect(lines.count > 2 && lines[1].range(of: #"^order_id +sku +quantity$"#, options: .regularExpression) != nil, "\(table.stdout)")
        #expect(table.stdout.contains("products, as products_db receives it: 3 records"))

        // The records as JSON: exactly the first three orders' lines, fields as the select step left them.
        let json = try await runCLIAsync(["preview", "p.yml", "--stage", "lines", "--limit", "3", "--format", "json"], in: dir, environment: env)
        let parsed = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as! [String: [[String: Any]]]
        let rows = try #require(parsed["lines"])
        #expect(!rows.isEmpty && rows.allSatisfy { Set($0.keys) == ["order_id", "sku", "quantity"] })
        #expect(Set(rows.map { $0["order_id"] as! Int }).count == 3)

        let fields = try await runCLIAsync(["preview", "p.yml", "--stage", "orders", "--fields", "--limit", "2"], in: dir, environment: env)
        #expect(fields.stdout.split(separator: "\n").first?.hasPrefix("field") == true)
        #expect(fields.stdout.contains("\nItems.0.VariationReference "), "\(fields.stdout)")
        #expect(fields.stdout.contains("\nOrderID "))
        #expect(!(table.stdout + json.stdout + fields.stdout + table.stderr).contains("s3cret-value"))

        // Nothing was written, no state kept, no order acknowledged: a real run now exports every order.
        #expect(Fixtures.files(in: dir) == ["p.yml"])
        let run = try await runCLIAsync(["run", "p.yml"], in: dir, environment: env)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("orders       extract    -    120"), "\(run.stdout)")
    }

    @Test func checkReportsEachConnectionAndLoad() async throws {
        var config = DemoStoreConfig(orders: 30, products: 10, seed: 12, token: "right")
        config.clientSecret = "s3cret-value"
        let server = try await DemoStoreServer.start(config)
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        try pipeline(server).write(to: dir.appendingPathComponent("p.yml"), atomically: true, encoding: .utf8)

        let good = try await runCLIAsync(["check", "p.yml"], in: dir, environment: ["AURORA_TOKEN": "right", "REST_SECRET": "s3cret-value"])
        #expect(good.status == 0, "\(good.stdout)\(good.stderr)")
        let goodLines = good.stdout.split(separator: "\n").map(String.init)
        #expect(goodLines.count == 4, "\(good.stdout)")
        #expect(goodLines.allSatisfy { $0.hasPrefix("ok   ") }, "\(good.stdout)")
        #expect(goodLines[0].contains("connection shop") && goodLines[0].contains("reachable, credentials accepted"))
        #expect(goodLines[1].contains("connection rest") && goodLines[1].contains("reachable, credentials accepted"))
        #expect(goodLines[2].contains("load lines_csv") && goodLines[2].contains("writable"))

        let bad = try await runCLIAsync(["check", "p.yml"], in: dir, environment: ["AURORA_TOKEN": "wrong", "REST_SECRET": "not-it"])
        #expect(bad.status == 1)
        let badLines = bad.stdout.split(separator: "\n").map(String.init)
        #expect(badLines[0].hasPrefix("FAIL connection shop") && badLines[0].contains("reachable, credentials refused"), "\(bad.stdout)")
        #expect(badLines[1].hasPrefix("FAIL connection rest") && badLines[1].contains("reachable, credentials refused"), "\(bad.stdout)")
        #expect(!(bad.stdout + bad.stderr).contains("not-it") && !(bad.stdout + bad.stderr).contains("wrong\""))

        // A file where the output directory should be: that load cannot be written.
        try "".write(to: dir.appendingPathComponent("blocked"), atomically: true, encoding: .utf8)
        try pipeline(server, loadDir: "blocked").write(to: dir.appendingPathComponent("p2.yml"), atomically: true, encoding: .utf8)
        await server.stop()
        let stopped = try await runCLIAsync(["check", "p2.yml"], in: dir, environment: ["AURORA_TOKEN": "right", "REST_SECRET": "s3cret-value"])
        #expect(stopped.status == 1)
        let stoppedLines = stopped.stdout.split(separator: "\n").map(String.init)
        #expect(stoppedLines[0].hasPrefix("FAIL connection shop") && stoppedLines[0].contains("not reachable") && stoppedLines[0].contains("connection refused"), "\(stopped.stdout)")
        #expect(stoppedLines[2].hasPrefix("FAIL load lines_csv") && stoppedLines[2].contains("is not a directory"), "\(stopped.stdout)")
        #expect(Fixtures.files(in: dir) == ["blocked", "p.yml", "p2.yml"])
    }
}

@Suite struct CheckRecordedFilesTests {
    @Test func recordedFilesAreReadableOrNot() async throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = try await runCLIAsync(["check", "pipelines/seed-examples.yml"], in: dir)
        #expect(good.status == 0)
        #expect(good.stdout.split(separator: "\n").first == "ok   connection recorded  readable (stage orders read its first record)", "\(good.stdout)")
        let yaml = try String(contentsOf: Fixtures.packageRoot.appendingPathComponent("pipelines/seed-examples.yml"), encoding: .utf8)
            .replacingOccurrences(of: "samples/aurora-xml/order-get-*.xml", with: "nowhere/*.xml")
        try yaml.write(to: dir.appendingPathComponent("p.yml"), atomically: true, encoding: .utf8)
        let bad = try await runCLIAsync(["check", "p.yml"], in: dir)
        #expect(bad.status == 1)
        #expect(bad.stdout.hasPrefix("FAIL connection recorded  not readable: stage 'orders': no file matches 'nowhere/*.xml'"), "\(bad.stdout)")
        #expect(Fixtures.files(in: dir) == ["p.yml"])
    }
}

@Suite struct FailedRunManifestTests {
    private func manifest(_ dir: URL) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("out/seed-examples.manifest.json"))) as! [String: Any]
    }

    @Test func aFailedRunRecordsWhatHappenedAndKeepsThePublishedRunsManifest() async throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = try String(contentsOf: Fixtures.packageRoot.appendingPathComponent("pipelines/seed-examples.yml"), encoding: .utf8)
        try good.write(to: dir.appendingPathComponent("p.yml"), atomically: true, encoding: .utf8)
        #expect(try await runCLIAsync(["run", "p.yml"], in: dir).status == 0)
        let published = try manifest(dir)
        #expect(published["status"] as? String == "published")
        let csv = try Data(contentsOf: dir.appendingPathComponent("out/order-lines.csv"))

        // The source goes missing: the run fails, the outputs stay, the manifest says so.
        try good.replacingOccurrences(of: "samples/aurora-xml/order-get-*.xml", with: "nowhere/*.xml")
            .write(to: dir.appendingPathComponent("p.yml"), atomically: true, encoding: .utf8)
        for _ in 0..<2 {
            #expect(try await runCLIAsync(["run", "p.yml"], in: dir).status == 1)
            let failed = try manifest(dir)
            #expect(failed["status"] as? String == "failed")
            #expect(failed["outputs_changed"] as? Bool == false)
            #expect(failed["run_id"] as? String != published["run_id"] as? String)
            // The last published run, not the failed one before it: its files are what is in place.
            let previous = try #require(failed["previous"] as? [String: Any])
            #expect(previous["run_id"] as? String == published["run_id"] as? String)
            #expect(previous["status"] as? String == "published")
            #expect((previous["loads"] as? [Any])?.count == 3)
        }
        #expect(try Data(contentsOf: dir.appendingPathComponent("out/order-lines.csv")) == csv)
    }
}

@Suite struct ProgressLineTests {
    @Test func anExtractWithAnAnnouncedTotalShowsPagesOfTheTotalAndTimeLeft() {
        let start = ContinuousClock.now
        var stage = RunProgress.Stage(id: "orders", kind: "extract", started: start)
        stage.records = 2_500
        stage.pages = 25
        stage.totalPages = 100
        stage.totalRecords = 10_000
        stage.retries = 2
        // 10 s in: 250 records/s, 7,500 records to go, 30 s left.
        let now = start + .seconds(10)
        #expect(ProgressDisplay.plainLine(stage, now: now) == "2,500 records so far (250/s), page 25 of 100, about 30 s left, 2 retries")
        let live = ProgressDisplay.liveLines([stage, RunProgress.Stage(id: "lines", kind: "transform", started: start)], now: now)
        #expect(live == ["orders  extract     2,500 records  250/s  page 25 of 100  about 30 s left  2 retries",
                         "lines   transform   0 records  0/s"])
        stage.finished = true
        #expect(ProgressDisplay.plainLine(stage, now: now) == "2,500 records (done), page 25 of 100, 2 retries")
        // A continued run's rate counts only what this run read.
        var continued = RunProgress.Stage(id: "orders", kind: "extract", started: start)
        continued.recordsAtStart = 2_000
        continued.records = 3_000
        #expect(continued.rate(at: now) == 100)
        #expect(ProgressDisplay.duration(4_000) == "1 h 06 min" && ProgressDisplay.duration(245) == "4 min 05 s")
    }

    @Test func theDemoStorePrintsItsThreeAPIsAtOnceAndLogsRequestsWithVerbose() async throws {
        let process = cliProcess(["demo-store", "--port", "0", "--orders", "20", "--products", "5", "-v"], in: Fixtures.packageRoot)
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGINT); process.waitUntilExit() } }
        // The banner arrives while the store runs (a pipe, not a terminal): read it as it comes.
        let handle = out.fileHandleForReading
        let text = await read(handle, until: "press Ctrl-C to stop\n")
        let lines = text.split(separator: "\n").map(String.init)
        let xml = try #require(lines.first { $0.hasPrefix("Aurora XML API:") })
        #expect(lines.contains { $0.hasPrefix("Aurora v2 REST API:") && $0.contains("client_id and client_secret") })
        #expect(lines.contains { $0.hasPrefix("AmeriCommerce API:") && $0.contains("token: any non-empty token") })
        let url = try #require(xml.split(separator: " ").first { $0.hasPrefix("http://") })
        let base = url.replacingOccurrences(of: "/ajax/Ajax_API/processRequestXml", with: "")
        var request = HTTPClientRequest(url: base + "/api/v1/products?count=2")
        request.headers.add(name: "X-AC-Auth-Token", value: "local-test")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        #expect(response.status.code == 200)
        // With -v the request is logged in one line.
        let logged = await read(handle, until: "\n")
        #expect(logged.hasPrefix("request: GET /api/v1/products?count=2 -> 200, "), "\(logged)")
    }
}

/// What `handle` gives until the text holds `marker` (or the pipe closes), read on a queue of its
/// own so the test's executor is not blocked while the other side writes.
private func read(_ handle: FileHandle, until marker: String) async -> String {
    await withCheckedContinuation { (done: CheckedContinuation<String, Never>) in
        DispatchQueue.global().async {
            var text = ""
            while !text.contains(marker) {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                text += String(decoding: chunk, as: UTF8.self)
            }
            done.resume(returning: text)
        }
    }
}
