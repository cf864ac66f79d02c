// Writes one `csv:` load's records as RFC 4180 text, continuing from a checkpoint when resumed.
import Foundation

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

    init(output: StagedOutput, format: CSVLoad, resume: Value? = nil) throws {
        self.output = output
        self.format = format
        if let fixed = format.columns { columns = fixed.map(\.header) }
        guard let resume else {
            file = try OutputFile(creating: output.temporary)
            return
        }
        let state = try resume.state(State.self, of: output.final)
        file = try OutputFile(continuing: output.temporary, at: state.offset)
        rows = state.rows
        started = state.started
        columns = state.columns
        columnIndex = Dictionary(uniqueKeysWithValues: columns.enumerated().map { ($1, $0) })
        segments = state.segments.compactMap { $0.count == 2 ? ($0[0], $0[1]) : nil }
    }

    /// Where a checkpoint left the file: its length, rows, and the columns in force (a column
    /// first seen later pads the rows before it when the file is finished).
    struct State: Codable {
        var temporary: [String]
        var offset: Int64
        var rows: Int
        var started: Bool
        var columns: [String]
        /// (rows, columns) runs.
        var segments: [[Int]]
    }

    func checkpoint(final: Bool) throws -> Value {
        guard let file else { throw ETLError("csv output already closed") }
        try file.sync()
        return try Value(state: State(temporary: [output.temporary, output.temporary + ".pad"], offset: file.bytesWritten, rows: rows,
                                      started: started, columns: columns, segments: segments.map { [$0.rows, $0.columns] }))
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
            // Records of one source share their keys' storage, which compares equal at once; the
            // columns take the storage of the last record that matched, to make that so.
            let keys = record.fields.keys.elements
            guard keys == columns else { return false }
            columns = keys
            return true
        }
        // Whether every record of the batch has the columns in order (checked once, here).
        var allInOrder = false
        if format.columns == nil {
            allInOrder = true
            for record in records where !inColumnOrder(record) {
                allInOrder = false
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
        var line = OutputBuffer(capacity: 1 << 17)
        var hints = format.columns?.map { PathHints($0.path) } ?? []
        // Each record read in place (no copy, so no retain and release of its storage per row).
        try records.withUnsafeBufferPointer { records in
            for r in records.indices {
                let record = records.baseAddress.unsafelyUnwrapped + r
                if let fixed = format.columns {
                    for (i, column) in fixed.enumerated() {
                        if i > 0 { line.append(format.delimiter) }
                        format.appendCell(record.pointee.value(at: column.path, hints: &hints[i]) ?? .null, to: &line)
                    }
                } else if allInOrder || inColumnOrder(record.pointee) {
                    // The usual case: the record's fields are the columns, in order.
                    record.pointee.fields.values.withUnsafeBufferPointer { values in
                        guard let first = values.baseAddress else { return }
                        for i in values.indices {
                            if i > 0 { line.append(format.delimiter) }
                            format.appendCell(at: first + i, to: &line)
                        }
                    }
                } else {
                    for (i, column) in columns.enumerated() {
                        if i > 0 { line.append(format.delimiter) }
                        format.appendCell(record.pointee.fields[column] ?? .null, to: &line)
                    }
                }
                if format.crlf { line.append(13) }
                line.append(10)
                if line.count >= 1 << 16 {
                    try line.withBytes { try file.write($0) }
                    line.removeAll()
                }
            }
        }
        try line.withBytes { try file.write($0) }
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
            format.append(name, guardFormula: format.formulaGuard, to: &out)
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
