// `csv:` load (README: "Loads"). Cells are written straight from record values so decimals keep
// every digit; the formula guard exists because partner feeds are opened in spreadsheets.
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

    public func checkTarget(_ run: RunContext) throws -> String { try checkWritableFile(path, run: run) }
    public var replacedEachRun: (reason: String, instead: String)? { CommerceETL.replacedEachRun(path: path) }

    public var outputPath: String? { path }

    public func makeWriter(_ run: RunContext, resume: Value?) throws -> any LoadWriter {
        try CSVWriter(output: StagedOutput(path: path, run: run), format: self, resume: resume)
    }

    /// One cell's bytes (a missing field is written as null).
    func appendCell<Out: ByteOutput & ~Copyable>(_ value: borrowing Value, to out: inout Out) {
        withUnsafePointer(to: value) { appendCell(at: $0, to: &out) }
    }

    /// `appendCell` for a value read in place (a record's own storage): switching over the
    /// pointee reads the cell's string without a retain and release of it, which for every
    /// cell of a large export was a fifth of the CSV load's time.
    @inline(__always)
    func appendCell<Out: ByteOutput & ~Copyable>(at value: UnsafePointer<Value>, to out: inout Out) {
        switch value.pointee {
        case .null:
            append(null, guardFormula: false, to: &out)
        // Digits, signs, points, dashes and colons: never quoted, never a formula.
        case .integer(let n): JSONWriter.writeInteger(n, into: &out)
        case .decimal(let d): d.write(into: &out)
        case .bool(let b): out.append(b ? "true" : "false")
        case .dateTime(let t): t.write(into: &out)
        case .date(let d): d.write(into: &out)
        case .string(let text):
            // A number ("-5", "+44 ...") is not a formula: only text that a spreadsheet would run.
            append(text, guardFormula: formulaGuard, numbersAreSafe: true, to: &out)
        case .array, .object:
            var json: [UInt8] = []
            value.pointee.writeFlat(into: &json)
            append(String(decoding: json, as: UTF8.self), guardFormula: false, to: &out)
        }
    }

    /// '=', '+', '-', '@', tab or carriage return first: a spreadsheet may run the cell.
    private static func startsLikeAFormula(_ first: UInt8?) -> Bool {
        switch first {
        case UInt8(ascii: "=")?, UInt8(ascii: "+")?, UInt8(ascii: "-")?, UInt8(ascii: "@")?, 9?, 13?: true
        default: false
        }
    }

    /// `text` as one cell: quoted when it holds the delimiter, a quote or a line break; with
    /// `guardFormula`, prefixed with `'` when it starts like a formula (unless it is a number and
    /// `numbersAreSafe`).
    @inline(__always)
    func append<Out: ByteOutput & ~Copyable>(_ text: String, guardFormula: Bool, numbersAreSafe: Bool = false, to out: inout Out) {
        let d = delimiter
        if let done: Void = text.utf8.withContiguousStorageIfAvailable({
            Self.appendCell($0, delimiter: d, guardFormula: guardFormula, numbersAreSafe: numbersAreSafe, to: &out)
        }) { return done }
        let copy = Array(text.utf8)
        copy.withUnsafeBufferPointer { Self.appendCell($0, delimiter: d, guardFormula: guardFormula, numbersAreSafe: numbersAreSafe, to: &out) }
    }

    /// `append` on the text's bytes; takes no string, so the caller's string is only borrowed.
    private static func appendCell<Out: ByteOutput & ~Copyable>(_ bytes: UnsafeBufferPointer<UInt8>, delimiter d: UInt8, guardFormula: Bool,
                                                                numbersAreSafe: Bool, to out: inout Out) {
        let prefix: UInt8? = guardFormula && startsLikeAFormula(bytes.first)
            && !(numbersAreSafe && ExactDecimal(parsing: String(decoding: bytes, as: UTF8.self)) != nil) ? UInt8(ascii: "'") : nil
        var needsQuotes = false
        // Most bytes of most cells are letters and digits, above every byte that needs quotes
        // except perhaps the delimiter: one compare for those.
        let below = max(d, 34)
        for b in bytes where b <= below && (b == d || b == 34 || b == 10 || b == 13) { needsQuotes = true; break }
        guard needsQuotes else {
            if let prefix { out.append(prefix) }
            out.append(bytes: bytes)
            return
        }
        out.append(34)
        if let prefix { out.append(prefix) }
        for byte in bytes {
            if byte == 34 { out.append(34) }
            out.append(byte)
        }
        out.append(34)
    }

    var lineEnd: [UInt8] { crlf ? [13, 10] : [10] }
}
