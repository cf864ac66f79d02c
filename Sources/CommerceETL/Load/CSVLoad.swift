// `csv:` load: RFC 4180 text. Comma separated, LF line endings, a header row, fields quoted
// only when they hold a comma, quote, CR or LF (quotes doubled). Nested values are JSON text,
// null is an empty cell. The header is the union of fields in first-seen order; a field first
// seen after rows were written is added as a new last column and earlier rows are padded.

import Foundation

public struct CSVLoad: LoadFormat {
    /// Output file, relative to the working directory.
    public var path: String

    public var target: String { path }

    static func parse(_ value: ConfigValue) -> (any LoadFormat)? {
        guard let config = value.map() else { return nil }
        let path = config.string("path", required: true)
        config.finish()
        guard let path else { return nil }
        return CSVLoad(path: path)
    }

    public func makeWriter(_ run: RunContext) throws -> any LoadWriter {
        try CSVWriter(output: StagedOutput(path: path, run: run))
    }
}

final class CSVWriter: LoadWriter {
    private let output: StagedOutput
    private var file: OutputFile?
    private var columns: [String] = []
    private var columnIndex: [String: Int] = [:]
    /// Rows written so far with how many columns, in runs: (rows in the run, columns).
    private var segments: [(rows: Int, columns: Int)] = []
    private var rows = 0
    private var line: [UInt8] = []

    init(output: StagedOutput) throws {
        self.output = output
        file = try OutputFile(creating: output.temporary)
    }

    func write(_ records: [Record]) throws {
        guard let file else { return }
        for record in records {
            for key in record.fields.keys where columnIndex[key] == nil {
                columnIndex[key] = columns.count
                columns.append(key)
            }
        }
        if rows == 0, segments.isEmpty, !records.isEmpty {
            try file.write(headerLine(columns))
        }
        for record in records {
            line.removeAll(keepingCapacity: true)
            for (i, column) in columns.enumerated() {
                if i > 0 { line.append(UInt8(ascii: ",")) }
                if let text = record.fields[column]?.flatText { CSVWriter.appendCell(text, to: &line) }
            }
            line.append(10)
            try file.write(line)
            if let last = segments.last, last.columns == columns.count {
                segments[segments.count - 1].rows += 1
            } else {
                segments.append((1, columns.count))
            }
            rows += 1
        }
    }

    private func headerLine(_ names: [String]) -> [UInt8] {
        var out: [UInt8] = []
        for (i, name) in names.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            CSVWriter.appendCell(name, to: &out)
        }
        out.append(10)
        return out
    }

    static func appendCell(_ text: String, to out: inout [UInt8]) {
        let needsQuotes = text.utf8.contains { $0 == 44 || $0 == 34 || $0 == 10 || $0 == 13 }
        guard needsQuotes else {
            out.append(contentsOf: text.utf8)
            return
        }
        out.append(34)
        for byte in text.utf8 {
            if byte == 34 { out.append(34) }
            out.append(byte)
        }
        out.append(34)
    }

    func finish() throws -> LoadResult {
        guard let file else { throw ETLError("csv output already closed") }
        try file.close()
        self.file = nil
        var bytes = file.bytesWritten
        if segments.count > 1 {
            bytes = try rewriteWithFullHeader()
        }
        return LoadResult(staged: [output.staged], rows: rows, bytes: bytes)
    }

    /// Columns appeared after the header was written: write the final header, then every row
    /// padded to the full width. Row ends are found by tracking quotes, as a reader would.
    private func rewriteWithFullHeader() throws -> Int64 {
        let padded = output.temporary + ".pad"
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
            try target.write(headerLine(columns))
            var inQuotes = false
            var skippingHeader = true
            var row = 0
            var segment = 0
            var chunkOut: [UInt8] = []
            while let chunk = try source.read(1 << 16) {
                chunkOut.removeAll(keepingCapacity: true)
                for byte in chunk {
                    if byte == 34 { inQuotes.toggle() }
                    if byte == 10, !inQuotes {
                        if skippingHeader {
                            skippingHeader = false
                            continue
                        }
                        while row >= rowLimits[segment].endRow { segment += 1 }
                        chunkOut.append(contentsOf: repeatElement(UInt8(ascii: ","), count: rowLimits[segment].missing))
                        chunkOut.append(10)
                        row += 1
                        continue
                    }
                    if !skippingHeader { chunkOut.append(byte) }
                }
                try target.write(chunkOut)
            }
            try target.close()
            try FileManager.default.removeItem(atPath: output.temporary)
            try FileManager.default.moveItem(atPath: padded, toPath: output.temporary)
            return target.bytesWritten
        } catch {
            target.discard()
            try? FileManager.default.removeItem(atPath: padded)
            throw error
        }
    }

    func abort() {
        file?.discard()
        file = nil
        output.abort()
    }
}
