// `ndjson_gz:` load: one JSON object per line, keys in record order, exact decimals as JSON
// numbers, dates as ISO 8601 strings, gzip-compressed as it is written.

public struct NDJSONGzipLoad: LoadFormat {
    /// Output file, relative to the working directory.
    public var path: String
    /// gzip compression level, 1 (fastest) to 9 (smallest).
    public var level: Int

    public var target: String { path }

    static func parse(_ value: ConfigValue) -> (any LoadFormat)? {
        guard let config = value.map() else { return nil }
        let path = config.string("path", required: true)
        let level = config.integer("level", in: 1...9) ?? 6
        config.finish()
        guard let path else { return nil }
        return NDJSONGzipLoad(path: path, level: level)
    }

    public func makeWriter(_ run: RunContext) throws -> any LoadWriter {
        try NDJSONGzipWriter(output: StagedOutput(path: path, run: run), level: Int32(level))
    }
}

final class NDJSONGzipWriter: LoadWriter {
    private let output: StagedOutput
    private var file: OutputFile?
    private let gzip: GzipStream
    private var rows = 0
    private var buffer: [UInt8] = []

    init(output: StagedOutput, level: Int32) throws {
        self.output = output
        gzip = try GzipStream(level: level)
        file = try OutputFile(creating: output.temporary)
    }

    func write(_ records: [Record]) throws {
        guard let file else { return }
        buffer.removeAll(keepingCapacity: true)
        for record in records {
            JSONWriter.write(record, into: &buffer)
            buffer.append(10)
        }
        rows += records.count
        try gzip.compress(buffer) { try file.write($0) }
    }

    func finish() throws -> LoadResult {
        guard let file else { throw ETLError("ndjson_gz output already closed") }
        try gzip.finish { try file.write($0) }
        try file.close()
        self.file = nil
        return LoadResult(staged: [output.staged], rows: rows, bytes: file.bytesWritten)
    }

    func abort() {
        file?.discard()
        file = nil
        output.abort()
    }
}
