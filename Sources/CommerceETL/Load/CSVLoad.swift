// `csv:` load: RFC 4180 text for partner feeds and spreadsheets.
//
//   csv: { path: out/lines.csv, delimiter: ";", line_ending: crlf, bom: true, columns: { Order: order_id, SKU: sku } }
//
// Fields are quoted only when they hold the delimiter, a quote, CR or LF (quotes doubled). Nested
// values are JSON text, null is `null:` (empty by default), booleans true/false, decimals digit
// for digit, dates ISO 8601. Without `columns` the header is the union of fields in first-seen
// order; a field first seen after rows were written becomes a new last column and earlier rows
// are padded, so no value is dropped. The formula guard (on by default) prefixes text cells that
// start with =, +, -, @, tab or CR with ' so a spreadsheet shows them instead of running them;
// numbers, and text that is just a number such as "-0.50", are left alone.
import Foundation

public struct CSVLoad: LoadKind {
    /// Output file, relative to the working directory.
    public var path: String
    /// Fixed columns: header name and the dotted path it takes its value from. Nil: every field.
    public var columns: [(header: String, path: FieldPath)]?
    public var delimiter: UInt8
    public var header: Bool
    public var crlf: Bool
    public var bom: Bool
    public var null: String
    public var formulaGuard: Bool

    public var target: String { path }

    public init(path: String, columns: [(header: String, path: FieldPath)]? = nil, delimiter: UInt8 = UInt8(ascii: ","),
                header: Bool = true, crlf: Bool = false, bom: Bool = false, null: String = "", formulaGuard: Bool = true) {
        self.path = path
        self.columns = columns
        self.delimiter = delimiter
        self.header = header
        self.crlf = crlf
        self.bom = bom
        self.null = null
        self.formulaGuard = formulaGuard
    }

    public static let name = "csv"
    enum Keys {
        static let path = Key.outputPath("path", doc: "the output file", example: "out/order-lines.csv")
        static let columns = Key.custom("columns", .either(.list(.string), .stringMap), default: "every field",
            doc: "a list of field names, or a map of header to dotted path; fixes the header, and other fields are left out by choice",
            example: "{ Order: order.OrderID, \"First SKU\": Items.0.VariationReference }", read: CSVLoad.readColumns)
        static let delimiter = Key.custom("delimiter", .string, doc: "one character other than a quote or line break; `tab` for tab-separated", example: "\";\"") { (d: ConfigValue) -> UInt8? in
            guard let text = d.string() else { return nil }
            let resolved = text == "tab" || text == "\\t" ? "\t" : text
            guard resolved.utf8.count == 1, let byte = resolved.utf8.first, ![34, 10, 13].contains(byte) else {
                d.error("'\(d.path)' must be one character other than a quote or line break (or 'tab'), found \(d.shown(text))")
                return nil
            }
            return byte
        }.defaulting(UInt8(ascii: ","), shown: "`,`")
        static let header = Key.boolean("header", doc: "write the header row").defaulting(true)
        static let lineEnding = Key.choice("line_ending", ["lf", "crlf"], doc: "line breaks: `lf` or `crlf`").defaulting("lf")
        static let bom = Key.boolean("bom", doc: "start with a UTF-8 byte order mark (for spreadsheet users)").defaulting(false)
        static let null = Key.string("null", doc: "the text written for null").defaulting("")
        static let formulaGuard = Key.boolean("formula_guard", doc: "text cells starting with `=`, `+`, `-`, `@`, tab or CR get a leading `'`, so opening the feed in a spreadsheet cannot run a formula; numbers (and text that is just a number, such as `-0.50`) are left alone").defaulting(true)
    }

    public static let value = OptionSpec(name, .options([Keys.path.spec, Keys.columns.spec, Keys.delimiter.spec, Keys.header.spec, Keys.lineEnding.spec, Keys.bom.spec, Keys.null.spec, Keys.formulaGuard.spec]),
                                         doc: "RFC 4180 text for partner feeds and spreadsheets", example: "{ path: out/order-lines.csv }")

    public static func parse(_ value: ConfigValue) -> (any LoadFormat)? {
        guard let config = value.map() else { return nil }
        let path = config.read(Keys.path)
        let columns = config.read(Keys.columns)
        let delimiter = config.read(Keys.delimiter)
        let header = config.read(Keys.header)
        let crlf = config.read(Keys.lineEnding) == "crlf"
        let bom = config.read(Keys.bom)
        let null = config.read(Keys.null)
        let formulaGuard = config.read(Keys.formulaGuard)
        config.finish()
        guard let path else { return nil }
        return CSVLoad(path: path, columns: columns, delimiter: delimiter, header: header, crlf: crlf, bom: bom,
                       null: null, formulaGuard: formulaGuard)
    }

    static func readColumns(_ c: ConfigValue) -> [(header: String, path: FieldPath)]? {
        if case .sequence = c.node {
            return c.strings().map { names in names.compactMap { name in FieldPath(name).map { (name, $0) } } }
        }
        guard let map = c.map() else { return nil }
        var columns: [(header: String, path: FieldPath)] = []
        for entry in map.entries() {
            guard let text = entry.value.string() else { continue }
            guard let p = FieldPath(text) else {
                map.context.diagnostics.error("'\(c.path).\(entry.key)' is not a valid field path: '\(text)'", at: entry.keyLocation)
                continue
            }
            columns.append((entry.key, p))
        }
        return columns
    }

    public func makeWriter(_ run: RunContext, resume: Value?) throws -> any LoadWriter {
        try CSVWriter(output: StagedOutput(path: path, run: run), format: self, resume: resume)
    }

    /// One cell's bytes.
    func appendCell(_ value: Value?, to out: inout [UInt8]) {
        switch value {
        case nil, .null?:
            append(null, guard: false, to: &out)
        case .integer?, .decimal?, .bool?, .dateTime?, .date?:
            // Digits, signs, points, dashes and colons: never quoted, never a formula.
            value!.writeFlat(into: &out)
        case .string(let text)?:
            let first = text.utf8.first
            let risky = first.map { [UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@"), 9, 13].contains($0) } ?? false
            append(text, guard: formulaGuard && risky && ExactDecimal(parsing: text) == nil, to: &out)
        case let nested?:
            var json: [UInt8] = []
            nested.writeFlat(into: &json)
            append(String(decoding: json, as: UTF8.self), guard: false, to: &out)
        }
    }

    func append(_ text: String, guard: Bool, to out: inout [UInt8]) {
        var prefix: UInt8? = nil
        if `guard`, let first = text.utf8.first, [UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@"), 9, 13].contains(first) {
            prefix = UInt8(ascii: "'")
        }
        let d = delimiter
        let needsQuotes = text.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
            for b in bytes where b == d || b == 34 || b == 10 || b == 13 { return true }
            return false
        } ?? text.utf8.contains { $0 == d || $0 == 34 || $0 == 10 || $0 == 13 }
        guard needsQuotes else {
            if let prefix { out.append(prefix) }
            out.append(contentsOf: text.utf8)
            return
        }
        out.append(34)
        if let prefix { out.append(prefix) }
        for byte in text.utf8 {
            if byte == 34 { out.append(34) }
            out.append(byte)
        }
        out.append(34)
    }

    var lineEnd: [UInt8] { crlf ? [13, 10] : [10] }
}

final class CSVWriter: LoadWriter {
    private let output: StagedOutput
    private let format: CSVLoad
    private var file: OutputFile?
    private var columns: [String] = []
    private var columnIndex: [String: Int] = [:]
    /// Rows written so far with how many columns, in runs: (rows in the run, columns).
    private var segments: [(rows: Int, columns: Int)] = []
    private var rows = 0
    private var started = false
    private var line: [UInt8] = []

    init(output: StagedOutput, format: CSVLoad, resume: Value? = nil) throws {
        self.output = output
        self.format = format
        if let fixed = format.columns { columns = fixed.map(\.header) }
        guard let resume else {
            file = try OutputFile(creating: output.temporary)
            return
        }
        guard let offset = resume["offset"]?.int, let rows = resume["rows"]?.int, case .array(let names)? = resume["columns"],
              case .array(let runs)? = resume["segments"], let started = resume["started"]?.bool else {
            throw ETLError("the checkpoint of \(output.final) is not of this tool's shape; discard it with 'commerce-etl state reset'")
        }
        file = try OutputFile(continuing: output.temporary, at: Int64(offset))
        self.rows = rows
        self.started = started
        columns = names.compactMap(\.string)
        columnIndex = Dictionary(uniqueKeysWithValues: columns.enumerated().map { ($1, $0) })
        segments = runs.compactMap { run in
            guard case .array(let pair) = run, pair.count == 2, let r = pair[0].int, let c = pair[1].int else { return nil }
            return (r, c)
        }
    }

    func checkpoint(final: Bool) throws -> Value {
        guard let file else { throw ETLError("csv output already closed") }
        try file.sync()
        return .object(["temporary": .array([.string(output.temporary), .string(output.temporary + ".pad")]), "offset": .integer(file.bytesWritten),
                        "rows": .integer(Int64(rows)), "started": .bool(started), "columns": .array(columns.map { .string($0) }),
                        "segments": .array(segments.map { .array([.integer(Int64($0.rows)), .integer(Int64($0.columns))]) })])
    }

    func restart() throws {
        file?.discard()
        file = try OutputFile(creating: output.temporary)
        columns = format.columns?.map(\.header) ?? []
        columnIndex = [:]
        segments = []
        rows = 0
        started = false
    }

    func write(_ records: [Record]) throws {
        guard let file, !records.isEmpty else { return }
        // Work on locals: class properties touched per cell cost an exclusivity check each.
        var columns = self.columns
        let format = self.format
        func inColumnOrder(_ record: Record) -> Bool {
            record.fields.count == columns.count && zip(record.fields.keys, columns).allSatisfy { $0 == $1 }
        }
        if format.columns == nil {
            for record in records where !inColumnOrder(record) {
                for key in record.fields.keys where columnIndex[key] == nil {
                    columnIndex[key] = columns.count
                    columns.append(key)
                }
            }
            self.columns = columns
        }
        if !started {
            started = true
            if format.bom { try file.write([0xEF, 0xBB, 0xBF]) }
            if format.header { try file.write(headerLine(columns)) }
        }
        var line = self.line
        line.removeAll(keepingCapacity: true)
        for record in records {
            if let fixed = format.columns {
                for (i, column) in fixed.enumerated() {
                    if i > 0 { line.append(format.delimiter) }
                    format.appendCell(record.value(at: column.path), to: &line)
                }
            } else if inColumnOrder(record) {
                // The usual case: the record's fields are the columns, in order.
                var first = true
                for value in record.fields.values {
                    if !first { line.append(format.delimiter) }
                    first = false
                    format.appendCell(value, to: &line)
                }
            } else {
                for (i, column) in columns.enumerated() {
                    if i > 0 { line.append(format.delimiter) }
                    format.appendCell(record.fields[column], to: &line)
                }
            }
            if format.crlf { line.append(13) }
            line.append(10)
            if line.count >= 1 << 16 {
                try file.write(line)
                line.removeAll(keepingCapacity: true)
            }
        }
        try file.write(line)
        line.removeAll(keepingCapacity: true)
        self.line = line
        // Every row of this batch has the full width known now (earlier batches may have less).
        if let last = segments.last, last.columns == columns.count {
            segments[segments.count - 1].rows += records.count
        } else {
            segments.append((records.count, columns.count))
        }
        rows += records.count
    }

    private func headerLine(_ names: [String]) -> [UInt8] {
        var out: [UInt8] = []
        for (i, name) in names.enumerated() {
            if i > 0 { out.append(format.delimiter) }
            format.append(name, guard: format.formulaGuard, to: &out)
        }
        out.append(contentsOf: format.lineEnd)
        return out
    }

    func finish() throws -> LoadResult {
        guard let file else { throw ETLError("csv output already closed") }
        try file.close()
        self.file = nil
        if segments.count > 1 {
            // The padded copy is what gets published; the original stays as its checkpoint left it
            // until then, so a run interrupted while publishing can still be finished.
            let padded = output.temporary + ".pad"
            let bytes = try rewriteWithFullHeader(into: padded)
            return LoadResult(staged: [StagedFile(temporary: padded, final: output.final)], rows: rows, bytes: bytes,
                              obsolete: [output.temporary])
        }
        return LoadResult(staged: [output.staged], rows: rows, bytes: file.bytesWritten)
    }

    /// Columns appeared after the header was written: write the final header, then every row
    /// padded to the full width. Row ends are found by tracking quotes, as a reader would.
    private func rewriteWithFullHeader(into padded: String) throws -> Int64 {
        let source: FileReader
        do { source = try FileReader(path: output.temporary) } catch { throw ETLError("cannot reopen \(output.temporary): \(error)") }
        let target = try OutputFile(creating: padded)
        do {
            var rowLimits: [(endRow: Int, missing: Int)] = []
            var total = 0
            for segment in segments {
                total += segment.rows
                rowLimits.append((total, columns.count - segment.columns))
            }
            if format.bom { try target.write([0xEF, 0xBB, 0xBF]) }
            if format.header { try target.write(headerLine(columns)) }
            var inQuotes = false
            var skipping = format.bom ? 3 : 0      // the BOM is already written
            var skippingHeader = format.header
            var row = 0
            var segment = 0
            var chunkOut: [UInt8] = []
            while let chunk = try source.read(1 << 16) {
                chunkOut.removeAll(keepingCapacity: true)
                for byte in chunk {
                    if skipping > 0 {
                        skipping -= 1
                        continue
                    }
                    if byte == 34 { inQuotes.toggle() }
                    if byte == 10, !inQuotes {
                        if skippingHeader {
                            skippingHeader = false
                            continue
                        }
                        let hadCR = chunkOut.last == 13
                        if hadCR { chunkOut.removeLast() }
                        while row >= rowLimits[segment].endRow { segment += 1 }
                        chunkOut.append(contentsOf: repeatElement(format.delimiter, count: rowLimits[segment].missing))
                        chunkOut.append(contentsOf: format.lineEnd)
                        row += 1
                        continue
                    }
                    if !skippingHeader { chunkOut.append(byte) }
                }
                try target.write(chunkOut)
            }
            try target.close()
            return target.bytesWritten
        } catch {
            target.discard()
            try? FileManager.default.removeItem(atPath: padded)
            throw error
        }
    }

    func suspend() {
        file?.discard()
        file = nil
    }

    func abort() {
        file?.discard()
        file = nil
        output.abort()
        try? FileManager.default.removeItem(atPath: output.temporary + ".pad")
    }
}
