// `commerce-etl bench`: throughput and memory figures for Order Get (DetailLevel Full).
// Run it with a release build: swift run -c release commerce-etl bench
import ArgumentParser
import CommerceETL
import DemoStore
import CZlib
import Foundation
import Logging

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure XML parsing alone and a whole export from the demo store (use a release build).")

    @Option(help: "Orders in the demo store for the end-to-end run.")
    var orders = 100_000
    @Option(help: "Orders rendered into memory for the parse-only figure.")
    var parseOrders = 20_000
    @Option(help: "Latency added to every demo store response, e.g. 50ms.")
    var latency = "0ms"
    @Option(help: "Pages in flight.")
    var concurrency = 4
    @Option(help: "Orders per page.")
    var pageSize = 200
    @Flag(help: "Skip the parse-only measurement.")
    var skipParse = false
    @Option(help: "Products for the AmeriCommerce JSON -> SQLite run (0 to skip it).")
    var jsonProducts = 20_000
    @Option(help: "Pages in flight for the JSON run.")
    var jsonConcurrency = 8
    @Flag(help: "Skip the Aurora XML end-to-end run.")
    var skipXml = false
    @Option(help: "Order-line records each load writes in the load benchmark (0 to skip it).")
    var loadRows = 0
    @Option(help: "Loads to measure, comma separated: csv, ndjson_gz, sqlite, postgres (which needs --postgres-url).")
    var loads = "csv,ndjson_gz,sqlite"
    @Option(help: "The PostgreSQL database the postgres load benchmark fills (table bench_lines, replaced); default: DATABASE_URL.")
    var postgresURL: String?
    @Option(help: "Keep the CSV the load benchmark wrote here, for scripts/compare-loads.sh to load the same rows with other tools.")
    var keepCsv: String?
    @Option(help: "Pages between checkpoints in the end-to-end runs (the pipelines' default is 50).")
    var checkpointEvery = Pipeline.defaultCheckpointEvery

    func run() async throws {
        guard let latency = parseDuration(latency) else {
            printError("error: --latency must look like 50ms or 2s")
            throw ExitCode(ExitStatus.invalid)
        }
        // End to end first, so the parse-only data held in memory does not count in its peak.
        if !skipXml { try await endToEnd(latency: latency) }
        if jsonProducts > 0 { try await jsonEndToEnd(latency: latency) }
        if !skipParse { parseOnly() }
        if loadRows > 0 { try await measureLoads() }
    }

    private func endToEnd(latency: Duration) async throws {
        let server = try await DemoStoreServer.start(DemoStoreConfig(orders: orders, products: 1000, seed: 7, latency: latency))
        let yaml = """
            version: 1
            name: bench
            checkpoint_every: \(checkpointEvery)
            connections:
              store: { type: aurora-xml, url: "\(server.xmlURL)", token: bench, concurrency: \(concurrency) }
            extract:
              orders: { connection: store, resource: orders, detail_level: Full, page_size: \(pageSize) }
            load:
              archive: { input: orders, ndjson_gz: { path: orders.ndjson.gz, level: 1 } }
            """
        let (report, seconds) = try await timedRun(yaml)
        await server.stop()
        let count = report.stages.first { $0.id == "orders" }?.recordsOut ?? 0
        let pages = (count + pageSize - 1) / pageSize + 1   // and the empty page that ends it
        print("end to end (demo store over loopback -> records -> NDJSON.gz), \(count) orders, \(pages) pages of \(pageSize), concurrency \(concurrency), a checkpoint every \(checkpointEvery) pages:")
        print("  \(String(format: "%.2f", seconds)) s, \(Int(Double(count) / seconds)) orders/s, peak RSS \(peakRSSMegabytes()) MB")
        if latency > .zero {
            let floor = Double(pages) * latency.doubleSeconds / Double(concurrency)
            print("  latency \(latency) per response: pages x latency / concurrency = \(String(format: "%.2f", floor)) s; "
                  + "measured / that = \(String(format: "%.2f", seconds / floor)) (target at most 1.5)")
        }
    }

    /// Runs a pipeline in a scratch directory; returns its report and the seconds it took.
    private func timedRun(_ yaml: String) async throws -> (RunReport, Double) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("commerce-etl-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let outcome = PipelineLoader.load(yaml: yaml, file: "bench.yml", environment: [:])
        guard let pipeline = outcome.pipeline else { throw ETLError("bench pipeline invalid: \(outcome.diagnostics)") }
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let started = ContinuousClock.now
        let report = try await PipelineRunner(pipeline: pipeline, log: RunLog(logger: logger), workingDirectory: dir.path).run()
        return (report, (ContinuousClock.now - started).doubleSeconds)
    }

    /// Products from the demo store's AmeriCommerce API (variants expanded) into SQLite.
    private func jsonEndToEnd(latency: Duration) async throws {
        let server = try await DemoStoreServer.start(DemoStoreConfig(orders: 100, products: jsonProducts, seed: 7, latency: latency))
        let count = 100
        let yaml = """
            version: 1
            name: bench-json
            checkpoint_every: \(checkpointEvery)
            connections:
              store: { type: americommerce, url: "\(server.americommerceURL)", token: bench, concurrency: \(jsonConcurrency) }
            extract:
              products: { connection: store, resource: products, count: \(count), expand: [variants] }
            load:
              db: { input: products, sqlite: { path: products.sqlite, table: products } }
            """
        let (report, seconds) = try await timedRun(yaml)
        await server.stop()
        let products = report.stages.first { $0.id == "products" }?.recordsOut ?? 0
        let pages = (products + count - 1) / count
        print("end to end (demo store AmeriCommerce API over loopback -> records -> SQLite), \(products) products, \(pages) pages of \(count), concurrency \(jsonConcurrency), a checkpoint every \(checkpointEvery) pages:")
        print("  \(String(format: "%.2f", seconds)) s, \(Int(Double(products) / seconds)) products/s, peak RSS \(peakRSSMegabytes()) MB")
        if latency > .zero {
            let floor = Double(pages) * latency.doubleSeconds / Double(jsonConcurrency)
            print("  latency \(latency) per response: pages x latency / concurrency = \(String(format: "%.2f", floor)) s; "
                  + "measured / that = \(String(format: "%.2f", seconds / floor)); one page at a time would take \(String(format: "%.2f", Double(pages) * latency.doubleSeconds)) s")
        }
    }

    /// Each load writing `loadRows` 30-column order-line records (a pool of distinct rows, reused).
    private func measureLoads() async throws {
        var pool: [Record] = []
        for i in 0..<1000 {
            var r = Record()
            r["order_id"] = .integer(Int64(1_000_000 + i))
            r["line"] = .integer(Int64(i % 7))
            r["created"] = .dateTime(Timestamp(epochSeconds: 1_700_000_000 + Int64(i) * 3_600))
            r["status"] = .string(["Despatched", "Pending", "Cancelled"][i % 3])
            r["currency"] = .string(["GBP", "EUR", "JPY"][i % 3])
            r["exchange_rate"] = .decimal(ExactDecimal(parsing: "1.1634")!)
            r["sku"] = .string("P-\(i)-XL")
            r["ean"] = .string("00123456\(String(format: "%05d", i))")
            r["name"] = .string(i % 5 == 0 ? "Café \"Retro\" mug, large" : "Organic T-shirt")
            r["quantity"] = .integer(Int64(1 + i % 4))
            for (k, name) in ["price", "tax", "discount", "gross_amount", "line_discount", "order_discount_share", "discount_total",
                              "net_amount", "shipping", "total"].enumerated() {
                r[name] = .decimal(ExactDecimal(parsing: "\(10 + (i * 7 + k) % 190).\(String(format: "%02d", (i + k) % 100))")!)
            }
            for k in 0..<10 { r["attr_\(k)"] = k % 2 == 0 ? .string("value \(k)-\(i % 50)") : .integer(Int64(i * k)) }
            pool.append(r)
        }
        let batches = (loadRows + 499) / 500
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("commerce-etl-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        print("loads, \(loadRows) order-line records of 30 columns:")
        var ndjsonSeconds = 0.0
        var ndjsonRaw: [UInt8] = []
        var measured: [(String, any LoadFormat)] = [("csv", CSVLoad(path: "l.csv")), ("ndjson_gz level 6", NDJSONGzipLoad(path: "l.ndjson.gz")),
                                                     ("sqlite", SQLiteLoad(path: "l.sqlite", table: "lines"))]
        if loads.split(separator: ",").contains("postgres") {
            guard let url = postgresURL ?? ProcessInfo.processInfo.environment["DATABASE_URL"] else {
                printError("error: the postgres load benchmark needs --postgres-url or DATABASE_URL")
                throw ExitCode(ExitStatus.invalid)
            }
            do {
                measured.append(("postgres (COPY, table bench_lines)", try PostgresLoad(url: url, table: "bench_lines")))
            } catch {
                printError("error: --postgres-url \(error)")
                throw ExitCode(ExitStatus.invalid)
            }
        }
        for (name, load) in measured where loads.split(separator: ",").contains(where: { name.hasPrefix($0) }) {
            let run = RunContext(runID: UUID().uuidString, pipelineName: "bench", workingDirectory: dir.path, logger: RunLog(logger: logger))
            let started = ContinuousClock.now
            let writer = try await load.makeWriter(run, resume: nil)
            var written = 0
            for b in 0..<batches {
                let count = min(500, loadRows - written)
                let start = (b * 500) % pool.count
                try await writer.write((0..<count).map { pool[(start + $0) % pool.count] })
                written += count
            }
            let result = try await writer.finish()
            try await result.commit?.commit()
            let seconds = (ContinuousClock.now - started).doubleSeconds
            let file = result.staged.first?.temporary ?? result.commit?.target ?? ""
            if name == "csv", let keepCsv { try? FileManager.default.removeItem(atPath: keepCsv); try FileManager.default.copyItem(atPath: file, toPath: keepCsv) }
            let bytes = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
            if name.hasPrefix("postgres") {
                print("  \(name): \(String(format: "%.2f", seconds)) s, \(Int(Double(written) / seconds)) rows/s (target at least 100,000; scripts/compare-postgres.sh puts psql \\copy beside it)")
            } else {
                print("  \(name): \(String(format: "%.2f", seconds)) s, \(Int(Double(written) / seconds)) rows/s, \(String(format: "%.1f", Double(bytes) / 1e6 / seconds)) MB/s written (\(bytes / 1_000_000) MB)")
            }
            if name.hasPrefix("ndjson") { ndjsonSeconds = seconds }
        }
        guard loads.contains("ndjson") else { return }
        // zlib alone at level 6 (what `gzip -6` runs) on the same NDJSON bytes, for comparison.
        for i in 0..<loadRows { JSONWriter.write(pool[i % pool.count], into: &ndjsonRaw); ndjsonRaw.append(10) }
        let started = ContinuousClock.now
        let compressed = try zlibCompressedSize(ndjsonRaw, level: 6)
        let zlibSeconds = (ContinuousClock.now - started).doubleSeconds
        print("  zlib alone, level 6, the same \(ndjsonRaw.count / 1_000_000) MB of NDJSON: \(String(format: "%.2f", zlibSeconds)) s, \(String(format: "%.1f", Double(ndjsonRaw.count) / 1e6 / zlibSeconds)) MB/s in, \(compressed / 1_000_000) MB out; ndjson_gz load / zlib = \(String(format: "%.2f", ndjsonSeconds / zlibSeconds)) (target at most 1.3)")
    }

    /// Compresses `bytes` with zlib's streaming deflate into a gzip stream, in 256 KiB pieces as
    /// a writer would feed it; returns the compressed size.
    private func zlibCompressedSize(_ bytes: [UInt8], level: Int32) throws -> Int {
        var stream = z_stream()
        guard deflateInit2_(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw ETLError("cannot start zlib")
        }
        defer { deflateEnd(&stream) }
        var out = [UInt8](repeating: 0, count: 1 << 16)
        var compressed = 0
        try bytes.withUnsafeBufferPointer { all in
            var offset = 0
            repeat {
                let end = min(all.count, offset + (1 << 18))
                // zlib reads `next_in` and never writes through it.
                stream.next_in = all.baseAddress.map { UnsafeMutablePointer(mutating: $0 + offset) }
                stream.avail_in = uInt(end - offset)
                let flush = end == all.count ? Z_FINISH : Z_NO_FLUSH
                var rc: Int32
                repeat {
                    rc = out.withUnsafeMutableBufferPointer { buffer in
                        stream.next_out = buffer.baseAddress
                        stream.avail_out = uInt(buffer.count)
                        let rc = deflate(&stream, flush)
                        compressed += buffer.count - Int(stream.avail_out)
                        return rc
                    }
                    guard rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR else { throw ETLError("zlib error \(rc)") }
                } while flush == Z_FINISH ? rc != Z_STREAM_END : stream.avail_out == 0
                offset = end
            } while offset < all.count
        }
        return compressed
    }

    private func parseOnly() {
        let api = DemoStoreXMLAPI(DemoStoreConfig(orders: parseOrders, products: 100, seed: 7))
        var pages: [[UInt8]] = []
        var page = 1
        var token: String? = nil
        while true {
            let paging = (token.map { "<Token>\($0)</Token>" } ?? "") + "<Limit>\(pageSize)</Limit><Page>\(page)</Page>"
            let request = "<AuroraRequestEnvelope><Header><AuthToken>bench</AuthToken></Header><Requests><Request><Order><Get><DetailLevel>Full</DetailLevel><Paging>\(paging)</Paging></Get></Order></Request></Requests></AuroraRequestEnvelope>"
            let bytes = api.respond(to: Array(request.utf8))
            guard bytes.count > 1200 else { break }   // the empty page
            if token == nil, let range = String(decoding: bytes.prefix(2000), as: UTF8.self).range(of: #"(?<=<Token>)[0-9a-f]+"#, options: .regularExpression) {
                token = String(String(decoding: bytes.prefix(2000), as: UTF8.self)[range])
            }
            pages.append(bytes)
            page += 1
        }
        let total = pages.reduce(0) { $0 + $1.count }
        // Tokenizing alone first: the difference to the figure below is the cost of making records.
        var events = 0
        let tokenizeStarted = ContinuousClock.now
        for bytes in pages {
            var parser = XMLPullParser()
            var offset = 0
            while offset < bytes.count {
                let end = min(bytes.count, offset + 65_536)
                parser.feed(bytes[offset..<end])
                offset = end
                while (try? parser.nextToken()) != nil { events += 1 }
            }
        }
        let tokenizeSeconds = (ContinuousClock.now - tokenizeStarted).doubleSeconds
        var records = 0
        let started = ContinuousClock.now
        for bytes in pages {
            var parser = XMLPullParser()
            var reader = AuroraXMLRecordReader(resource: .orders)
            var offset = 0
            while offset < bytes.count {
                let end = min(bytes.count, offset + 65_536)
                parser.feed(bytes[offset..<end])
                offset = end
                while (try? reader.read(from: &parser)) != nil { records += 1 }
            }
        }
        let seconds = (ContinuousClock.now - started).doubleSeconds
        print("XML parsing alone (bytes in memory, one core), \(records) orders, \(total / 1_000_000) MB:")
        print("  \(String(format: "%.2f", seconds)) s, \(Int(Double(records) / seconds)) orders/s, \(String(format: "%.1f", Double(total) / 1e6 / seconds)) MB/s")
        print("  of which tokenizing (\(events) tokens, no records): \(String(format: "%.2f", tokenizeSeconds)) s, \(String(format: "%.1f", Double(total) / 1e6 / tokenizeSeconds)) MB/s")
    }

    private func peakRSSMegabytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kb = Int(line.split(separator: " ").dropFirst().first ?? "") else { return -1 }
        return kb / 1024
    }
}

extension Duration {
    var doubleSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
