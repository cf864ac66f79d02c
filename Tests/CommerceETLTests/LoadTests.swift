import CSV
import Foundation
import Testing
@testable import CommerceETL
@testable import DemoStore

private func context(_ dir: URL) -> RunContext {
    RunContext(runID: "test-\(UUID().uuidString.prefix(8))", pipelineName: "t", workingDirectory: dir.path, logger: quietLog())
}

/// Writes `batches` through a load and publishes the result, as a run would.
private func write(_ load: any LoadFormat, _ batches: [[Record]], in dir: URL) async throws -> LoadResult {
    let writer = try await load.makeWriter(context(dir), resume: nil)
    for batch in batches { try await writer.write(batch) }
    let result = try await writer.finish()
    try await result.commit?.commit()
    for file in result.staged { try AtomicFile.publish(temporary: file.temporary, final: file.final) }
    for file in result.obsolete { try? FileManager.default.removeItem(atPath: file) }
    return result
}

private func readCSV(_ url: URL) throws -> (header: [String], rows: [[String]]) {
    let reader = try CSVReader(string: String(contentsOf: url, encoding: .utf8), hasHeaderRow: true)
    var rows: [[String]] = []
    while let row = reader.next() { rows.append(row) }
    return (reader.headerRow ?? [], rows)
}

@Suite struct CSVLoadTests {
    @Test func quotesOnlyWhatNeedsQuotingAndRoundTrips() async throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let tricky = ["plain", "comma, inside", "quote \"here\"", "new\nline", "cr\rhere", "=SUM(A1)", "東京 🎁 مرحبا", " spaced "]
        let records: [Record] = tricky.enumerated().map { i, text in
            ["id": .integer(Int64(i)), "text": .string(text), "price": .decimal(ExactDecimal(parsing: "1.50")!),
             "nested": .object(["a": .array([.integer(1), .null])]), "missing": .null, "flag": .bool(i % 2 == 0)]
        }
        let result = try await write(CSVLoad(path: "out/t.csv"), [records], in: dir)
        #expect(result.rows == tricky.count)
        let url = dir.appendingPathComponent("out/t.csv")
        let raw = try String(contentsOf: url, encoding: .utf8)
        #expect(raw.hasPrefix("id,text,price,nested,missing,flag\n0,plain,1.50,\"{\"\"a\"\":[1,null]}\",,true\n"))
        #expect(raw.contains("\n1,\"comma, inside\",1.50,"))
        let (header, rows) = try readCSV(url)
        #expect(header == ["id", "text", "price", "nested", "missing", "flag"])
        // The formula guard shows "=SUM(A1)" as text in a spreadsheet; everything else is as written.
        #expect(rows.map { $0[1] } == tricky.map { $0 == "=SUM(A1)" ? "'=SUM(A1)" : $0 })
        #expect(rows.allSatisfy { $0.count == 6 && $0[4] == "" })
    }

    @Test func spreadsheetOptions() async throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let records: [Record] = [
            ["id": .integer(1), "name": .string("=1+1"), "phone": .string("+44 20 7946 0000"), "amount": .decimal(ExactDecimal(parsing: "-5.50")!),
             "text": .string("-0.50"), "at": .string("@home"), "tab": .string("\tx"), "nested": .object(["a": .string("b;c")]), "none": .null],
        ]
        let load = CSVLoad(path: "s.csv", delimiter: UInt8(ascii: ";"), crlf: true, bom: true, null: "NULL")
        _ = try await write(load, [records], in: dir)
        let bytes = Array(try Data(contentsOf: dir.appendingPathComponent("s.csv")))
        #expect(Array(bytes.prefix(3)) == [0xEF, 0xBB, 0xBF])
        let text = String(decoding: bytes.dropFirst(3), as: UTF8.self)
        #expect(text == "id;name;phone;amount;text;at;tab;nested;none\r\n1;'=1+1;'+44 20 7946 0000;-5.50;-0.50;'@home;'\tx;\"{\"\"a\"\":\"\"b;c\"\"}\";NULL\r\n")
        let reader = try CSVReader(string: text, hasHeaderRow: true, delimiter: ";")
        #expect(reader.next() == ["1", "'=1+1", "'+44 20 7946 0000", "-5.50", "-0.50", "'@home", "'\tx", #"{"a":"b;c"}"#, "NULL"])

        let raw = CSVLoad(path: "r.csv", header: false, formulaGuard: false)
        _ = try await write(raw, [records], in: dir)
        #expect(try String(contentsOf: dir.appendingPathComponent("r.csv"), encoding: .utf8).hasPrefix("1,=1+1,+44 20 7946 0000,"))
    }

    @Test func fixedColumnsFromAMapOfPaths() async throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let outcome = PipelineLoader.load(yaml: """
            version: 1
            name: t
            connections: { r: { type: files, dialect: aurora-xml, paths: [x.xml] } }
            extract: { o: { connection: r, resource: orders } }
            load: { l: { input: o, csv: { path: c.csv, columns: { Order: OrderID, "First SKU": Items.0.VariationReference, Missing: Nope } } } }
            """, file: "t.yml", environment: [:])
        guard case .load(_, let load)? = outcome.pipeline?.stage("l")?.role else { Issue.record("\(outcome.diagnostics)"); return }
        let first: [Record] = [["OrderID": .integer(7), "Items": .array([.object(["VariationReference": .string("A-1")])]), "Extra": .string("x")]]
        let second: [Record] = [["OrderID": .integer(8), "Late": .string("dropped by choice")]]
        _ = try await write(load, [first, second], in: dir)
        #expect(try String(contentsOf: dir.appendingPathComponent("c.csv"), encoding: .utf8) == "Order,First SKU,Missing\n7,A-1,\n8,,\n")
    }

    @Test func lateColumnsWithCRLFAndABOM() async throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let load = CSVLoad(path: "l.csv", crlf: true, bom: true)
        _ = try await write(load, [[["a": .string("x\r\ny")]], [["a": .integer(2), "b": .integer(3)]]], in: dir)
        let bytes = Array(try Data(contentsOf: dir.appendingPathComponent("l.csv")))
        #expect(String(decoding: bytes, as: UTF8.self) == "\u{FEFF}a,b\r\n\"x\r\ny\",\r\n2,3\r\n")
    }

    @Test func aFieldFirstSeenLaterIsKeptAndEarlierRowsArePadded() async throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let first: [Record] = [["a": .integer(1), "b": .string("x\ny")], ["a": .integer(2)]]
        let second: [Record] = [["a": .integer(3), "c": .string("late, \"field\"")]]
        let third: [Record] = [["d": .integer(9)]]
        let result = try await write(CSVLoad(path: "t.csv"), [first, second, third], in: dir)
        let (header, rows) = try readCSV(dir.appendingPathComponent("t.csv"))
        #expect(header == ["a", "b", "c", "d"])
        #expect(rows == [["1", "x\ny", "", ""], ["2", "", "", ""], ["3", "", "late, \"field\"", ""], ["", "", "", "9"]])
        #expect(result.bytes == Int64(try Data(contentsOf: dir.appendingPathComponent("t.csv")).count))
        #expect(Fixtures.files(in: dir) == ["t.csv"])   // no temporary file left
    }
}

@Suite struct NDJSONGzipLoadTests {
    @Test func writesValidGzipWithOneOrderedObjectPerLine() async throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let batches: [[Record]] = (0..<20).map { b in
            (0..<500).map { i in
                ["z": .integer(Int64(b * 500 + i)), "amount": .decimal(ExactDecimal(parsing: "0.10")!),
                 "when": .date(CalendarDate(year: 2024, month: 1, day: 2)), "text": .string("line \(i)\n\"q\"")]
            }
        }
        let result = try await write(NDJSONGzipLoad(path: "o.ndjson.gz", level: 6), batches, in: dir)
        #expect(result.rows == 10_000)
        let url = dir.appendingPathComponent("o.ndjson.gz")
        let text = String(decoding: try gunzip(url), as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 10_001 && lines.last == "")
        #expect(lines[0] == #"{"z":0,"amount":0.10,"when":"2024-01-02","text":"line 0\n\"q\""}"#)
        let parsed = try JSONSerialization.jsonObject(with: Data(lines[9999].utf8)) as? [String: Any]
        #expect(parsed?["z"] as? Int == 9999)
        // No timestamp in the header: the same data gives the same bytes.
        let again = try await write(NDJSONGzipLoad(path: "p.ndjson.gz", level: 6), batches, in: dir)
        #expect(again.bytes == result.bytes)
        #expect(try Data(contentsOf: url) == Data(contentsOf: dir.appendingPathComponent("p.ndjson.gz")))
    }
}

@Suite struct GzipStreamTests {
    /// Compresses `input` fed in pieces of the given sizes (cycled), with members of `memberSize` bytes.
    private func gzip(_ input: [UInt8], pieces: [Int], memberSize: Int) throws -> [UInt8] {
        let stream = try GzipStream(level: 6, memberSize: memberSize)
        var out: [UInt8] = []
        var offset = 0, k = 0
        while offset < input.count {
            let end = min(input.count, offset + pieces[k % pieces.count])
            try stream.compress(Array(input[offset..<end])) { out.append(contentsOf: $0) }
            offset = end
            k += 1
        }
        try stream.endMember { out.append(contentsOf: $0) }
        return out
    }

    @Test func membersOfAFixedSizeDecompressToTheInputHoweverItIsFed() throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        var random = SeededRandom(seed: 11, stream: 0, index: 0)
        let words = ["order", "line", "16.66", "\"Despatched\"", "\n", "{\"sku\":", "é", "0042"]
        let text = Array((0..<60_000).map { _ in words[Int(random.next() % UInt64(words.count))] }.joined(separator: " ").utf8)
        let m = 4096
        for count in [0, 1, m - 1, m, m + 1, 3 * m + 7, text.count] {
            let input = Array(text[..<count])
            let whole = try gzip(input, pieces: [max(1, count)], memberSize: m)
            // Fed in uneven pieces, the bytes are the same: members are cut by size, not by call.
            #expect(try gzip(input, pieces: [1000, 1, 5000, 4096], memberSize: m) == whole, "\(count) bytes")
            let url = dir.appendingPathComponent("t\(count).gz")
            try Data(whole).write(to: url)
            #expect(try gunzip(url) == Data(input), "\(count) bytes")
            // The first member is the first `m` bytes compressed on their own.
            if count > m { #expect(whole.starts(with: try gzip(Array(input[..<m]), pieces: [m], memberSize: m))) }
        }
        // A member ended early (a checkpoint) and more input after it: members cut by size again.
        let stream = try GzipStream(level: 6, memberSize: m)
        var joined: [UInt8] = []
        try stream.compress(Array(text[..<100])) { joined.append(contentsOf: $0) }
        try stream.endMember { joined.append(contentsOf: $0) }
        try stream.compress(Array(text[100..<(100 + 2 * m + 5)])) { joined.append(contentsOf: $0) }
        try stream.endMember { joined.append(contentsOf: $0) }
        #expect(joined == (try gzip(Array(text[..<100]), pieces: [100], memberSize: m)) + (try gzip(Array(text[100..<(100 + 2 * m + 5)]), pieces: [m], memberSize: m)))
        let url = dir.appendingPathComponent("joined.gz")
        try Data(joined).write(to: url)
        #expect(try gunzip(url) == Data(text[..<(100 + 2 * m + 5)]))
        // Ending a member right after one filled up writes nothing more.
        let exact = try GzipStream(level: 6, memberSize: m)
        var members: [Int] = []
        try exact.compress(Array(text[..<m])) { members.append($0.count) }
        try exact.endMember { members.append($0.count) }
        #expect(members.count == 1)
        // Nothing in: one empty member, still a gzip file.
        let empty = try gzip([], pieces: [1], memberSize: m)
        #expect(empty.starts(with: [0x1f, 0x8b]))
        // The whole text is far smaller compressed than in.
        #expect(try gzip(text, pieces: [65536], memberSize: 1 << 19).count < text.count / 3)
    }
}

@Suite struct OutputPathTests {
    private let yaml = """
        version: 1
        name: paths
        connections: { r: { type: files, dialect: aurora-xml, paths: [samples/aurora-xml/order-get-example.xml] } }
        extract: { o: { connection: r, resource: orders } }
        load: { l: { input: o, csv: { path: "PATH" } } }
        """

    @Test func placeholdersAreFilledIn() async throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let pipeline = try loadPipeline(yaml.replacingOccurrences(of: "PATH", with: "exports/{pipeline}/{run_date}/orders-{run_id}.csv"))
        let report = try await PipelineRunner(pipeline: pipeline, log: quietLog(), workingDirectory: dir.path).run()
        let day = String(Timestamp(epochSeconds: Int64(Date().timeIntervalSince1970)).description.prefix(10))
        #expect(report.published == [dir.appendingPathComponent("exports/paths/\(day)/orders-\(report.runID).csv").path])
    }

    @Test func pathsCannotLeaveTheOutputDirectory() async throws {
        let escape = PipelineLoader.load(yaml: yaml.replacingOccurrences(of: "PATH", with: "out/../../etc/x.csv"), file: "p.yml", environment: [:])
        #expect(escape.diagnostics.map(\.description) == ["p.yml:5:37: error: 'load.l.csv.path': 'out/../../etc/x.csv' leads outside the output directory; outputs stay inside the working directory or base_dir"])
        let unknown = PipelineLoader.load(yaml: yaml.replacingOccurrences(of: "PATH", with: "out/{rundate}.csv"), file: "p.yml", environment: [:])
        #expect(unknown.diagnostics.map(\.description) == ["p.yml:5:37: error: 'load.l.csv.path': unknown placeholder '{rundate}' (did you mean '{run_date}'?); placeholders are {run_date}, {run_id}, {pipeline}"])

        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let absolute = try loadPipeline(yaml.replacingOccurrences(of: "PATH", with: "/tmp/commerce-etl-escape.csv"))
        await #expect(throws: StageError.self) { try await PipelineRunner(pipeline: absolute, log: quietLog(), workingDirectory: dir.path).run() }
        #expect(!FileManager.default.fileExists(atPath: "/tmp/commerce-etl-escape.csv"))

        // With base_dir, relative outputs go there, and an absolute path inside it is fine.
        let based = try loadPipeline(yaml.replacingOccurrences(of: "PATH", with: "orders.csv").replacingOccurrences(of: "name: paths", with: "name: paths\nbase_dir: exports"))
        _ = try await PipelineRunner(pipeline: based, log: quietLog(), workingDirectory: dir.path).run()
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("exports/orders.csv").path))
    }
}

@Suite struct RotationTests {
    private func gzipTest(_ url: URL) async throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["gzip", "-t", url.path]
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    @Test func rotatedPartsAreValidGzipAndAStaleTailIsRemoved() async throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let batches: [[Record]] = (0..<10).map { b in (0..<1000).map { ["n": .integer(Int64(b * 1000 + $0)), "pad": .string(String(repeating: "x", count: 50))] } }
        let first = try await write(NDJSONGzipLoad(path: "out/orders.ndjson.gz", maxRecords: 3000), batches, in: dir)
        #expect(first.rows == 10_000)
        #expect(Fixtures.files(in: dir) == ["out", "out/orders-00001.ndjson.gz", "out/orders-00002.ndjson.gz", "out/orders-00003.ndjson.gz", "out/orders-00004.ndjson.gz"])
        var seen: [Int] = []
        for part in 1...4 {
            let url = dir.appendingPathComponent("out/orders-0000\(part).ndjson.gz")
            #expect(try await gzipTest(url) == 0)
            let lines = String(decoding: try gunzip(url), as: UTF8.self).split(separator: "\n")
            #expect(lines.count == (part < 4 ? 3000 : 1000))
            for line in lines { seen.append((try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any])["n"] as! Int) }
        }
        #expect(seen == Array(0..<10_000))

        // A later run through the runner with fewer parts: the old parts 3 and 4 go.
        let yaml = """
            version: 1
            name: rot
            connections: { r: { type: files, dialect: aurora-xml, paths: [samples/aurora-xml/order-get-*.xml] } }
            extract: { o: { connection: r, resource: orders } }
            load: { l: { input: o, ndjson_gz: { path: out/orders.ndjson.gz, rotate: { max_records: 3 } } } }
            """
        let pipeline = try loadPipeline(yaml)
        _ = try await PipelineRunner(pipeline: pipeline, log: quietLog(), workingDirectory: dir.path).run()
        #expect(Fixtures.files(in: dir) == ["out", "out/orders-00001.ndjson.gz", "out/orders-00002.ndjson.gz", "out/rot.manifest.json"])
    }

    @Test func rotationBySize() async throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        // Incompressible-ish text, so the compressed size grows with the records.
        var random = SystemRandomNumberGenerator()
        let batches: [[Record]] = (0..<4).map { _ in (0..<2000).map { _ in ["r": .string(String(UInt64.random(in: 0...UInt64.max, using: &random), radix: 36))] } }
        let result = try await write(NDJSONGzipLoad(path: "s.ndjson.gz", maxBytes: 32_768), batches, in: dir)
        let parts = Fixtures.files(in: dir)
        #expect(parts.count >= 2)
        // Every part but the last reached the limit before the next began.
        for part in parts.dropLast() {
            #expect(try Data(contentsOf: dir.appendingPathComponent(part)).count >= 32_768)
        }
        var total = 0
        for part in parts {
            let url = dir.appendingPathComponent(part)
            #expect(try await gzipTest(url) == 0)
            total += String(decoding: try gunzip(url), as: UTF8.self).split(separator: "\n").count
        }
        #expect(total == 8000 && result.rows == 8000)
    }
}

@Suite struct SQLiteLoadTests {
    @Test func createsTypedColumnsAndAddsLateOnes() async throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let first: [Record] = [
            ["order": .integer(1), "drop table": .string("0012"), "price": .decimal(ExactDecimal(parsing: "19.99")!),
             "live": .bool(true), "at": .dateTime(Timestamp(epochSeconds: 0, offsetSeconds: 3600)), "items": .array([.integer(1)])],
            ["order": .integer(2), "drop table": .null, "price": .decimal(ExactDecimal(parsing: "0.10")!),
             "live": .bool(false), "at": .null, "items": .array([])],
        ]
        let second: [Record] = [["order": .integer(3), "price": .decimal(ExactDecimal(parsing: "123456789012.345")!), "late": .string("x")]]
        let result = try await write(SQLiteLoad(path: "db.sqlite", table: "order lines"), [first, second], in: dir)
        #expect(result.rows == 3)
        let db = dir.appendingPathComponent("db.sqlite").path
        let schema = try sqliteRows(db, "SELECT name, type FROM pragma_table_info('order lines')")
        #expect(schema.map { $0[0]! + " " + $0[1]! } == ["order INTEGER", "drop table TEXT", "price DECIMAL", "live INTEGER",
                                                          "at TEXT", "items TEXT", "late TEXT"])
        let rows = try sqliteRows(db, #"SELECT "order", "drop table", price, typeof(price), live, at, items, late FROM "order lines" ORDER BY 1"#)
        #expect(rows[0] == ["1", "0012", "19.99", "real", "1", "1970-01-01T01:00:00+01:00", "[1]", nil])
        #expect(rows[1] == ["2", nil, "0.1", "real", "0", nil, "[]", nil])
        #expect(rows[2] == ["3", nil, "123456789012.345", "real", nil, nil, nil, "x"])
        #expect(try sqliteRows(db, #"SELECT sum(price) FROM "order lines" WHERE price < 100"#) == [["20.09"]])
    }

    /// Texts are bound from one buffer per statement that SQLite reads in place; a row whose
    /// texts do not fit has them copied by SQLite, and the buffer grows for the next row (to a
    /// limit). Rows of every size, before and after each growth, must read back whole.
    @Test func textsOfEverySizeReadBackWholeRowAfterRow() async throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        var random = SeededRandom(seed: 41, stream: 0, index: 0)   // the same rows every run
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789 ,\"'\né🎁")
        func text(_ count: Int) -> String { String((0..<count).map { _ in random.pick(alphabet) }) }
        var records: [Record] = []
        var expected: [[String?]] = []
        for i in 0..<400 {
            // Mostly short and medium texts; now and then a row past the buffer, once past its limit.
            let sizes = (0..<3).map { _ in random.pick([0, 1, 7, 15, 16, 40, 200, 900, 3000, 5000]) }
            let texts = sizes.map { text(i == 300 ? $0 + 1_500_000 : $0) }
            let price = ExactDecimal(parsing: "\(random.int(0...99999)).\(random.int(10...99))")!
            let at = Timestamp(epochSeconds: Int64(random.int(0...2_000_000_000)), offsetSeconds: Int32(3600 * random.int(-12...12)))
            records.append(["n": .integer(Int64(i)), "a": .string(texts[0]), "price": .decimal(price), "b": .string(texts[1]),
                            "at": .dateTime(at), "c": .string(texts[2]), "tags": .array([.string(texts[2].isEmpty ? "-" : "x")])])
            expected.append(["\(i)", texts[0], price.description, texts[1], at.description, texts[2], texts[2].isEmpty ? "[\"-\"]" : "[\"x\"]"])
        }
        // In batches of odd sizes, as a run hands them over.
        let batches = stride(from: 0, to: records.count, by: 37).map { Array(records[$0..<min($0 + 37, records.count)]) }
        _ = try await write(SQLiteLoad(path: "db.sqlite", table: "t", decimals: .text), batches, in: dir)
        let rows = try sqliteRows(dir.appendingPathComponent("db.sqlite").path, "SELECT n, a, price, b, at, c, tags FROM t ORDER BY n")
        #expect(rows.count == expected.count)
        for (row, want) in zip(rows, expected) where row != want {
            Issue.record("row \(want[0]!): \(row.map { $0.map { String($0.prefix(30)) } }) != \(want.map { $0.map { String($0.prefix(30)) } })")
        }
    }

    /// A decimal of at most 15 significant digits goes in as the nearest 8-byte float, however
    /// many zeros follow them (also past 64 bits); one of more is refused.
    @Test func decimalsOfFifteenDigitsAreStoredAndLongerOnesRefused() async throws {
        // (A whole number in a DECIMAL column, which has NUMERIC affinity, is kept as an integer.)
        for (text, stored, type) in [("999999999999999", "999999999999999", "integer"), ("1000000000000000", "1000000000000000", "integer"),
                                     ("0.000000000000000000001", "1.0e-21", "real"), ("-12345678901.2345", "-12345678901.2345", "real"),
                                     ("1234567890.12345000000000000000", "1234567890.12345", "real"),
                                     ("123456789012345000000", "1.23456789012345e+20", "real")] {
            let dir = try Fixtures.workspace()
            defer { try? FileManager.default.removeItem(at: dir) }
            _ = try await write(SQLiteLoad(path: "db.sqlite", table: "t"), [[["d": .decimal(ExactDecimal(parsing: text)!)]]], in: dir)
            let got = try sqliteRows(dir.appendingPathComponent("db.sqlite").path, "SELECT d, typeof(d) FROM t")
            #expect(got == [[stored, type]], "\(text)")
        }
        for text in ["1234567890123456", "0.1234567890123456"] {
            let dir = try Fixtures.workspace()
            defer { try? FileManager.default.removeItem(at: dir) }
            let writer = try SQLiteLoad(path: "db.sqlite", table: "t").makeWriter(context(dir), resume: nil)
            await #expect(throws: ETLError("column 'd': \(text) has 16 significant digits; SQLite keeps 15, so it cannot be stored exactly")) {
                try await writer.write([["d": .decimal(ExactDecimal(parsing: text)!)]])
            }
            writer.abort()
        }
    }

    @Test func refusesADecimalItCannotStoreExactly() async throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let writer = try SQLiteLoad(path: "db.sqlite", table: "t").makeWriter(context(dir), resume: nil)
        await #expect(throws: ETLError("column 'rate': 1.23456789012345678 has 18 significant digits; SQLite keeps 15, so it cannot be stored exactly")) {
            try await writer.write([["rate": .decimal(ExactDecimal(parsing: "1.23456789012345678")!)]])
        }
        writer.abort()
        #expect(Fixtures.files(in: dir).isEmpty)
    }
}
