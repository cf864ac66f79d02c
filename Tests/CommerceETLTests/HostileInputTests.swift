// Pipeline files and local files that misbehave on purpose: numbers that would overflow, names
// that are path components, keys that are not strings, files that never end, nesting without
// end, and outputs that cannot be published or would escape through a symbolic link.
import Foundation
import Testing
@testable import CommerceETL

private func diagnostics(_ yaml: String) -> [String] {
    PipelineLoader.load(yaml: yaml, file: "p.yml", environment: [:]).diagnostics.map(\.description)
}

private func pipeline(connection: String = "type: aurora-xml, url: demo", extract: String = "resource: orders", name: String = "p") -> String {
    """
    version: 1
    name: \(name)
    connections:
      store: { \(connection) }
    extract:
      orders: { connection: store, \(extract) }
    load:
      out: { input: orders, csv: { path: "o-{run_id}.csv" } }
    """
}

@Suite struct HostilePipelineFileTests {
    @Test func numbersThatWouldOverflowAreRefusedWithTheirLocation() {
        #expect(diagnostics(pipeline(extract: "resource: orders, incremental: { field: DateModified, lookback: P99999999999999W }"))
                == ["p.yml:6:96: error: 'extract.orders.incremental.lookback' must be at most a century, found 'P99999999999999W'"])
        #expect(diagnostics(pipeline(extract: "resource: orders, incremental: { field: DateModified, lookback: P5300W }"))
                == ["p.yml:6:96: error: 'extract.orders.incremental.lookback' must be at most a century, found 'P5300W'"])
        for rate in ["1e-12", "0.0001", "nan", "inf", "1e300"] {
            #expect(diagnostics(pipeline(connection: "type: aurora-xml, url: demo, rate_limit: \(rate)"))
                    == ["p.yml:4:53: error: 'connections.store.rate_limit' must be a number of requests per second from 0.0003 (one an hour) to 100000, found '\(rate)'"])
        }
        #expect(diagnostics(pipeline(connection: "type: aurora-xml, url: demo, max_retry_wait: 9223372036854775807"))
                == ["p.yml:4:57: error: 'connections.store.max_retry_wait' must be between 0 and 86400, found 9223372036854775807"])
        #expect(diagnostics(pipeline(connection: "type: aurora-xml, url: demo, timeout: 99999999999999999999999"))
                == ["p.yml:4:50: error: 'connections.store.timeout' must be an integer, found '99999999999999999999999'"])
        #expect(diagnostics(pipeline(extract: "resource: orders, max_pages: 0"))
                == ["p.yml:6:61: error: 'extract.orders.max_pages' must be between 1 and 1000000000, found 0"])
    }

    @Test func namesThatArePathComponentsAreRefused() {
        for name in [".", "..", "..."] {
            #expect(diagnostics(pipeline(name: name)) == ["p.yml:2:7: error: 'name' must not be '.' or '..' (it names a directory of state and output files); use letters or digits"])
        }
    }

    /// Found before the YAML is composed: the composer hashes keys to find duplicates, and a key
    /// that is an alias of a "billion laughs" structure would never hash.
    @Test(.timeLimit(.minutes(1)))
    func aKeyThatIsNotAPlainStringIsSaidSo() {
        let message = "error: keys must be plain strings (this looks like a list, mapping or alias used as a key)"
        #expect(diagnostics(pipeline().replacingOccurrences(of: "  store: {", with: "  ? [a, b]\n  : 1\n  store: {")) == ["p.yml:4:3: \(message)"])
        #expect(diagnostics(pipeline() + "\n? { x: 1 }\n: 2\n") == ["p.yml:9:1: \(message)"])
        #expect(diagnostics(pipeline() + "\n[a, b]: 2\n") == ["p.yml:9:6: \(message)"])
        var laughs = pipeline() + "\ndescription:\n  - &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1...9 { laughs += "  - &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]\n" }
        laughs += "*a9 : 1\n"
        #expect(diagnostics(laughs) == ["p.yml:20:1: \(message)"])
        // Aliases as values, and question marks in text, are fine.
        #expect(diagnostics(pipeline().replacingOccurrences(of: "name: p", with: "name: p\ndescription: &d why? because\nx-note: *d")) ==
                ["p.yml:4:1: error: unknown key 'x-note' in 'pipeline'; valid keys: version, name, description, base_dir, manifest, checkpoint_every, connections, extract, transform, load"])
    }

    @Test func aStageWithoutAConnectionIsNotBlamedForItsOtherKeys() {
        let messages = diagnostics(pipeline().replacingOccurrences(of: "orders: { connection: store, resource: orders }", with: "orders: { resource: orders, page_size: 10 }"))
        #expect(messages == ["p.yml:6:11: error: 'extract.orders' is missing required key 'connection'"])
    }

    @Test func nestingWithoutEndIsALocatedError() {
        let deep = pipeline() + "\ndescription: " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "\n"
        #expect(diagnostics(deep) == ["p.yml:9:78: error: lists and mappings are nested more than 64 levels deep; pipelines need a few levels"])
        let dashes = pipeline() + "\ndescription:\n" + String(repeating: "- ", count: 50_000) + "x\n"
        #expect(diagnostics(dashes).first?.hasSuffix("error: the file is nested more than 1000 columns deep; pipelines need a few levels") == true)
        // Brackets inside quotes and comments are text, not nesting.
        let quoted = pipeline() + "\ndescription: \"" + String(repeating: "[", count: 500) + "\" # " + String(repeating: "{", count: 500) + "\n"
        #expect(diagnostics(quoted).isEmpty)
    }

    @Test func aMillionUnknownKeysCostLittleAndSayHowManyMore() {
        var yaml = pipeline() + "\n"
        for i in 0..<200_000 { yaml += "unknown_key_number_\(i): \(i)\n" }
        let outcome = PipelineLoader.load(yaml: yaml, file: "p.yml", environment: [:])
        #expect(outcome.diagnostics.count == Diagnostics.limit)
        #expect(outcome.omitted == 200_000 - Diagnostics.limit)
        #expect(outcome.hasErrors)
        #expect(outcome.diagnostics.first?.description.hasPrefix("p.yml:9:1: error: unknown key 'unknown_key_number_0' in 'pipeline'") == true)
    }

    @Test func aPipelineFileOverEightMiBIsRefusedUnread() throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("huge.yml")
        try Data((pipeline() + "\n" + String(repeating: "# padding\n", count: 900_000)).utf8).write(to: file)
        let outcome = PipelineLoader.load(file: file.path)
        #expect(outcome.diagnostics.map(\.description) == ["\(file.path):1:1: error: cannot read the pipeline file: larger than the 8 MiB one file may hold"])
    }
}

@Suite(.timeLimit(.minutes(1)))
struct HostileLocalFileTests {
    func workspace(_ yaml: String) throws -> URL {
        let dir = try Fixtures.workspace()
        try yaml.write(to: dir.appendingPathComponent("p.yml"), atomically: true, encoding: .utf8)
        return dir
    }

    static let replay = """
        version: 1
        name: replay
        connections: { recorded: { type: files, dialect: aurora-xml, paths: [PATH] } }
        extract: { orders: { connection: recorded, resource: orders } }
        load: { out: { input: orders, csv: { path: out/orders.csv } } }
        """

    @Test func replayFilesThatAreNotRegularFilesAreRefused() async throws {
        let dir = try workspace(Self.replay.replacingOccurrences(of: "PATH", with: "live.xml"))
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(mkfifo(dir.appendingPathComponent("live.xml").path, 0o600) == 0)
        let fifo = try await runCLIAsync(["run", "p.yml"], in: dir, limit: .seconds(30))
        #expect(fifo.status == 1)
        #expect(fifo.stderr.contains("error: stage 'orders': live.xml: cannot open: not a regular file (it is a FIFO)"))

        try FileManager.default.removeItem(at: dir.appendingPathComponent("live.xml"))
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("live.xml").path, withDestinationPath: "/dev/zero")
        let zero = try await runCLIAsync(["run", "p.yml"], in: dir, limit: .seconds(30))
        #expect(zero.status == 1)
        #expect(zero.stderr.contains("error: stage 'orders': live.xml: cannot open: not a regular file (it is a device)"))
        #expect(Fixtures.files(in: dir) == ["live.xml", "out", "out/replay.manifest.json", "p.yml"])
    }

    @Test func aReplayFileOverMaxFileSizeIsRefused() async throws {
        let dir = try workspace(Self.replay.replacingOccurrences(of: "PATH", with: "big.xml")
            .replacingOccurrences(of: "dialect: aurora-xml,", with: "dialect: aurora-xml, max_file_mb: 1,"))
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(count: 2 << 20).write(to: dir.appendingPathComponent("big.xml"))
        let result = try await runCLIAsync(["run", "p.yml"], in: dir)
        #expect(result.status == 1)
        #expect(result.stderr.contains("error: stage 'orders': big.xml: cannot open: larger than the 1 MiB one file may hold"))
    }

    @Test func demoStoreOptionsOutOfRangeAreRefused() async throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let port = try await runCLIAsync(["demo-store", "--port", "70000"], in: dir)
        #expect(port.status == 2)
        #expect(port.stderr == "error: --port must be from 0 to 65535, found 70000\n")
        let orders = try await runCLIAsync(["demo-store", "--orders", "100000000000"], in: dir)
        #expect(orders.status == 2)
        #expect(orders.stderr == "error: --orders must be from 0 to 10000000, found 100000000000\n")
        let latency = try await runCLIAsync(["demo-store", "--latency", "1e300s"], in: dir)
        #expect(latency.status == 2)
        #expect(latency.stderr == "error: --latency must look like 50ms or 2s (at most an hour), found '1e300s'\n")
    }

    @Test func aPasswordInAURLIsNotShownByPlan() async throws {
        let dir = try workspace("""
            version: 1
            name: p
            connections: { store: { type: aurora-xml, url: "${STORE_URL}", token: "${AURORA_TOKEN}" } }
            extract: { orders: { connection: store, resource: orders } }
            load: { out: { input: orders, csv: { path: o.csv } } }
            """)
        defer { try? FileManager.default.removeItem(at: dir) }
        let plan = try await runCLIAsync(["plan", "p.yml"], in: dir, environment: ["STORE_URL": "https://api:pa55w0rd-xyz@store.example/ajax",
                                                                                  "AURORA_TOKEN": "tok-0123456789"])
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout.contains("https://api:[redacted]@store.example/ajax"))
        #expect(!(plan.stdout + plan.stderr).contains("pa55w0rd") && !(plan.stdout + plan.stderr).contains("tok-0123456789"))
    }

    @Test func outputsCannotEscapeThroughASymbolicLink() async throws {
        let dir = try workspace(Self.replay.replacingOccurrences(of: "PATH", with: "samples/aurora-xml/order-get-page-2.xml"))
        let elsewhere = FileManager.default.temporaryDirectory.appendingPathComponent("elsewhere-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        defer {
            try? FileManager.default.removeItem(at: dir)
            try? FileManager.default.removeItem(at: elsewhere)
        }
        try FileManager.default.createSymbolicLink(at: dir.appendingPathComponent("out"), withDestinationURL: elsewhere)
        let result = try await runCLIAsync(["run", "p.yml"], in: dir)
        #expect(result.status == 1)
        #expect(result.stderr.contains("output 'out/orders.csv' is outside \(dir.path) (through a symbolic link); outputs stay inside the working directory or base_dir"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: elsewhere.path).isEmpty)
    }

    /// A target that cannot be published (a directory in the way) fails the run before any
    /// output is replaced, the earlier run's CSV and SQLite table included.
    @Test(arguments: ["out/orders.ndjson.gz", "out/replay.json"])
    func publishingIsAllOrNothing(blocked: String) async throws {
        let yaml = """
            version: 1
            name: replay
            manifest: out/replay.json
            connections: { recorded: { type: files, dialect: aurora-xml, paths: [PATH] } }
            extract: { orders: { connection: recorded, resource: orders } }
            load:
              csv: { input: orders, csv: { path: out/orders.csv, columns: [OrderID] } }
              db: { input: orders, sqlite: { path: out/orders.sqlite, table: orders } }
              archive: { input: orders, ndjson_gz: { path: out/orders.ndjson.gz } }
            """
        let dir = try workspace(yaml.replacingOccurrences(of: "PATH", with: "samples/aurora-xml/order-get-example.xml"))
        defer { try? FileManager.default.removeItem(at: dir) }
        let first = try await runCLIAsync(["run", "p.yml"], in: dir)
        #expect(first.status == 0, "\(first.stderr)")
        let csvBefore = try Data(contentsOf: dir.appendingPathComponent("out/orders.csv"))
        let rowsBefore = try sqliteRows(dir.appendingPathComponent("out/orders.sqlite").path, "SELECT OrderID FROM orders ORDER BY 1")

        // The second run reads other orders, and one of its targets is a directory.
        try yaml.replacingOccurrences(of: "PATH", with: "samples/aurora-xml/order-get-page-2.xml")
            .write(to: dir.appendingPathComponent("p.yml"), atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(at: dir.appendingPathComponent(blocked))
        try FileManager.default.createDirectory(at: dir.appendingPathComponent(blocked), withIntermediateDirectories: false)
        let second = try await runCLIAsync(["run", "p.yml"], in: dir)
        #expect(second.status == 1)
        let lines = second.stderr.split(separator: "\n")
        #expect(lines.first == "error: cannot publish \(dir.appendingPathComponent(blocked).path): a directory of that name is in the way")
        // Every record was checkpointed, so the run keeps what it wrote, unpublished, and says so.
        #expect(lines.count == 2 && lines[1].hasPrefix("the run stopped; what it wrote up to its last checkpoint is kept (unfinished run "))
        #expect(try Data(contentsOf: dir.appendingPathComponent("out/orders.csv")) == csvBefore)
        #expect(try sqliteRows(dir.appendingPathComponent("out/orders.sqlite").path, "SELECT OrderID FROM orders ORDER BY 1") == rowsBefore)

        // With the directory out of the way, the same command finishes the run: every output appears.
        try FileManager.default.removeItem(at: dir.appendingPathComponent(blocked))
        let third = try await runCLIAsync(["run", "p.yml"], in: dir)
        #expect(third.status == 0, "\(third.stderr)")
        #expect(try Data(contentsOf: dir.appendingPathComponent("out/orders.csv")) != csvBefore)
        #expect(try sqliteRows(dir.appendingPathComponent("out/orders.sqlite").path, "SELECT OrderID FROM orders ORDER BY 1") != rowsBefore)
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("out/replay.json").path))
        #expect(!Fixtures.files(in: dir).contains { $0.contains(".tmp-") })
    }
}

@Suite struct StreamingParserTests {
    private func events(_ document: [UInt8], chunk: Int) throws -> [XMLEvent.Kind] {
        var parser = XMLPullParser()
        var out: [XMLEvent.Kind] = []
        var i = 0
        while i < document.count {
            parser.feed(document[i..<min(document.count, i + chunk)])
            i += chunk
            while let e = try parser.next() { out.append(e.kind) }
        }
        parser.finish()
        while let e = try parser.next() { out.append(e.kind) }
        return out
    }

    /// Every construct split at every byte gives the same events as the whole document: the
    /// parser resumes its searches where they stopped (that keeps long text linear) without
    /// losing a boundary that arrives in the next chunk.
    @Test func everySplitPointGivesTheSameEvents() throws {
        let document = Array(#"<?xml version="1.0"?><!-- a -- comment --><A x="1>2" y='q'><![CDATA[<not a tag>]]]]><B/>t&amp;u<C>caf&#233;</C></A>"#.utf8)
        let whole = try events(document, chunk: document.count)
        #expect(whole.count == 9)
        for chunk in 1...12 { #expect(try events(document, chunk: chunk) == whole, "chunk \(chunk)") }
    }

    /// Line and column (counted in Unicode scalars, from 1) of every start tag, checked against
    /// the document's own text: lines of every length around the eight-byte steps the parser
    /// counts in, with multi-byte characters before and between tags.
    @Test func positionsCountLinesAndCharacters() throws {
        var document = "<R>"
        let fillers = ["", "é", "٣٤ شارع", "😀x", "abcdefgh", "\t\t\t", "0123456789abcdefé"]
        for n in 0..<60 {
            let filler = fillers[n % fillers.count]
            document += String(repeating: filler, count: n % 5) + (n % 3 == 0 ? "\n" : "") + "<E\(n)>\(filler)</E\(n)>"
        }
        document += "</R>"
        for chunk in [1, 7, 64, 1 << 16] {
            var parser = XMLPullParser()
            var seen = 0
            let bytes = Array(document.utf8)
            for start in stride(from: 0, through: bytes.count, by: chunk) {
                if start < bytes.count { parser.feed(bytes[start..<min(bytes.count, start + chunk)]) }
                if start + chunk >= bytes.count { parser.finish() }
                while let event = try parser.next() {
                    guard case .start(let name, _, _) = event.kind, name != "R" else { continue }
                    let prefix = document[..<document.range(of: "<\(name)>")!.lowerBound]
                    let lines = prefix.split(separator: "\n", omittingEmptySubsequences: false)
                    #expect(event.line == lines.count, "\(name), chunk \(chunk)")
                    #expect(event.column == lines.last!.unicodeScalars.count + 1, "\(name), chunk \(chunk)")
                    seen += 1
                }
            }
            #expect(seen == 60)
        }
    }

    @Test func aLongTextNodeArrivingInSmallChunksIsReadWhole() throws {
        let text = String(repeating: "0123456789abcdef", count: 1 << 18)   // 4 MiB
        let document = Array("<A>\(text)</A>".utf8)
        let kinds = try events(document, chunk: 4096)
        #expect(kinds.count == 3)
        #expect(kinds[1] == .text(text, cdata: false))
    }
}
