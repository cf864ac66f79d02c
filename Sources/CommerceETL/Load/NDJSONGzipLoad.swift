// `ndjson_gz:` load (README: "Loads"). The gzip header carries no timestamp so the same data
// gives the same bytes; compression runs on a thread of its own because it is most of the cost.
import Foundation

public struct NDJSONGzipLoad: LoadKind {
    /// Output file, relative to the working directory.
    public var path: String
    /// gzip compression level, 1 (fastest) to 9 (smallest).
    public var level: Int
    /// Start a new part after this many records.
    public var maxRecords: Int?
    /// Start a new part once this many compressed bytes were written.
    public var maxBytes: Int64?

    public var target: String { path }

    public init(path: String, level: Int = 6, maxRecords: Int? = nil, maxBytes: Int64? = nil) {
        self.path = path
        self.level = level
        self.maxRecords = maxRecords
        self.maxBytes = maxBytes
    }

    public static let name = "ndjson_gz"
    enum Keys {
        static let path = Key.outputPath("path", doc: "the output file (with `rotate`, the name its parts are named after: `out/orders.ndjson.gz` gives `out/orders-00001.ndjson.gz`, ...)", example: "out/orders.ndjson.gz")
        static let level = Key.integer("level", in: 1...9, doc: "gzip compression level").defaulting(6)
        static let maxRecords = Key.integer("max_records", in: 1...Int.max, doc: "a new part starts before the record that would exceed this many", example: "100000")
        static let maxBytes = Key.integer("max_bytes", in: 1024...Int.max, doc: "a new part starts once a part's compressed size has reached this (it grows a gzip member at a time, a member being at most an eighth of this much NDJSON, so a part ends at most about an eighth past it)", example: "104857600")
        static let rotate = Key.mapping("rotate", [maxRecords.spec, maxBytes.spec], doc: "split the output into parts, each a complete gzip file", example: "{ max_records: 100000 }") { rotate -> (Int?, Int64?)? in
            let records = rotate.read(maxRecords)
            let bytes = rotate.read(maxBytes).map(Int64.init)
            if records == nil, bytes == nil {
                rotate.context.diagnostics.error("'\(rotate.path)' needs max_records or max_bytes", at: rotate.location)
            }
            return (records, bytes)
        }
    }

    public static let value = OptionSpec(name, .options([Keys.path.spec, Keys.level.spec, Keys.rotate.spec]),
                                         doc: "one JSON object per line, gzip-compressed as it is written", example: "{ path: out/orders.ndjson.gz }")

    public static func parse(_ value: ConfigValue) -> (any LoadFormat)? {
        guard let config = value.map() else { return nil }
        let path = config.read(Keys.path)
        let level = config.read(Keys.level)
        let rotate = config.read(Keys.rotate)
        config.finish()
        guard let path else { return nil }
        return NDJSONGzipLoad(path: path, level: level, maxRecords: rotate?.0, maxBytes: rotate?.1)
    }

    var rotates: Bool { maxRecords != nil || maxBytes != nil }

    /// Uncompressed bytes per gzip member: the compressed size `max_bytes` looks at grows a
    /// member at a time, so with that limit a member is at most an eighth of it (and at least 4 KiB).
    var memberSize: Int {
        guard let maxBytes else { return GzipStream.defaultMemberSize }
        return Int(min(max(maxBytes / 8, 1 << 12), Int64(GzipStream.defaultMemberSize)))
    }

    /// `dir/orders.ndjson.gz`, part 3 -> `dir/orders-00003.ndjson.gz`.
    static func partPath(_ path: String, _ part: Int) -> String {
        let url = URL(fileURLWithPath: path)
        let name = url.lastPathComponent
        let dot = name.firstIndex(of: ".") ?? name.endIndex
        let number = String(part)
        let padded = String(repeating: "0", count: max(0, 5 - number.count)) + number
        let partName = name[..<dot] + "-" + padded + name[dot...]
        return path.hasSuffix(name) ? String(path.dropLast(name.count)) + partName : partName
    }

    public func checkTarget(_ run: RunContext) throws -> String { try checkWritableFile(path, run: run) }
    public var replacedEachRun: (reason: String, instead: String)? { CommerceETL.replacedEachRun(path: path) }

    public var outputPath: String? { path }

    public func makeWriter(_ run: RunContext, resume: Value?) throws -> any LoadWriter {
        try NDJSONGzipWriter(load: self, run: run, resume: resume)
    }
}

/// Compresses and writes chunks on its own thread, so encoding the next records and compressing
/// the last ones overlap (compression is most of the cost). At most a few chunks wait at once.
final class BackgroundCompressor: @unchecked Sendable {
    // `failure` is guarded by `lock`; the stream and file are only used on `queue`.
    private let queue = DispatchQueue(label: "commerce-etl.gzip")
    private let slots = DispatchSemaphore(value: 4)
    private let lock = NSLock()
    private var failure: (any Error)?
    private let gzip: GzipStream
    private let file: OutputFile
    /// Uncompressed bytes since the last checkpoint.
    private var sinceCheckpoint = 0

    init(level: Int32, memberSize: Int, file: OutputFile) throws {
        self.gzip = try GzipStream(level: level, memberSize: memberSize)
        self.file = file
    }

    private func check() throws {
        if let failure = lock.withLock({ failure }) { throw failure }
    }

    func compress(_ chunk: [UInt8]) throws {
        try check()
        slots.wait()
        queue.async {
            defer { self.slots.signal() }
            do {
                self.sinceCheckpoint += chunk.count
                try self.gzip.compress(chunk) { try self.file.write($0) }
            } catch {
                self.lock.withLock { if self.failure == nil { self.failure = error } }
            }
        }
    }

    /// Compressed bytes written so far (waits for the chunks before it).
    var compressedBytes: Int64 { queue.sync { file.bytesWritten } }

    /// Waits for every chunk, ends the gzip member being filled (so the file so far is valid
    /// gzip), syncs the file and starts a new member; returns the file's size. Nothing happens to
    /// a member with no data.
    func checkpoint() throws -> Int64 {
        try queue.sync {
            try check()
            if sinceCheckpoint > 0 {
                try gzip.endMember { try file.write($0) }
                sinceCheckpoint = 0
            }
            try file.sync()
            return file.bytesWritten
        }
    }

    /// Waits for every chunk, ends the gzip member and closes the file. An empty file still gets
    /// one (empty) member, so it is valid gzip.
    func finish() throws {
        try queue.sync {
            try check()
            if sinceCheckpoint > 0 || file.bytesWritten == 0 { try gzip.endMember { try file.write($0) } }
            try file.close()
        }
    }

    func discard() {
        queue.sync { file.discard() }
    }
}

final class NDJSONGzipWriter: LoadWriter {
    private struct Part {
        let output: StagedOutput
        let file: OutputFile
        let compressor: BackgroundCompressor
        var records = 0
    }

    private let load: NDJSONGzipLoad
    private let run: RunContext
    private var current: Part?
    private var done: [(StagedOutput, Int64)] = []
    private var rows = 0
    private var closed = false

    init(load: NDJSONGzipLoad, run: RunContext, resume: Value? = nil) throws {
        self.load = load
        self.run = run
        guard let resume else {
            current = try open(part: 1)
            return
        }
        let state = try resume.state(State.self, of: load.path)
        for (i, size) in state.parts.enumerated() {
            done.append((try output(part: i + 1), size))
        }
        var part = try open(part: state.parts.count + 1, continuingAt: state.offset)
        part.records = state.records
        current = part
        rows = state.rows
    }

    /// Where a checkpoint left the output: the sizes of the finished parts, and how far into the
    /// current one (its last complete gzip member) with how many records.
    struct State: Codable {
        var temporary: [String]
        var parts: [Int64]
        var offset: Int64
        var records: Int
        var rows: Int
    }

    private func output(part: Int) throws -> StagedOutput {
        try StagedOutput(path: load.rotates ? NDJSONGzipLoad.partPath(load.path, part) : load.path, run: run)
    }

    private func open(part: Int, continuingAt offset: Int64? = nil) throws -> Part {
        let output = try output(part: part)
        let file = try offset.map { try OutputFile(continuing: output.temporary, at: $0) } ?? OutputFile(creating: output.temporary)
        return Part(output: output, file: file, compressor: try BackgroundCompressor(level: Int32(load.level), memberSize: load.memberSize, file: file))
    }

    func checkpoint(final: Bool) throws -> Value {
        guard let part = current else { throw ETLError("ndjson_gz output already closed") }
        let offset = try part.compressor.checkpoint()
        return try Value(state: State(temporary: (done.map(\.0) + [part.output]).map(\.temporary), parts: done.map(\.1),
                                      offset: offset, records: part.records, rows: rows))
    }

    func restart() throws {
        abort()
        rows = 0
        closed = false
        current = try open(part: 1)
    }

    private func close(_ part: Part) throws {
        try part.compressor.finish()
        done.append((part.output, part.file.bytesWritten))
    }

    func write(_ records: [Record]) throws {
        guard var part = current else { return }
        // Formatted into a local buffer (no per-byte bookkeeping); the compressor gets a copy of
        // each chunk, as it compresses on its own queue.
        var buffer = OutputBuffer(capacity: 1 << 17)
        func handOff(to compressor: BackgroundCompressor) throws {
            try compressor.compress(buffer.withBytes { Array($0) })
            buffer.removeAll()
        }
        let maxRecords = load.maxRecords, maxBytes = load.maxBytes
        for record in records {
            let full = (maxRecords.map { part.records >= $0 } ?? false) || (maxBytes.map { part.compressor.compressedBytes >= $0 } ?? false)
            if full, part.records > 0 {
                try handOff(to: part.compressor)
                try close(part)
                part = try open(part: done.count + 1)
                current = part
            }
            JSONWriter.write(record, into: &buffer)
            buffer.append(10)
            part.records += 1
            // With a size limit, compress as we go so the compressed size the rotation looks at stays current.
            if buffer.count >= (maxBytes != nil ? 1 << 12 : 1 << 18) { try handOff(to: part.compressor) }
        }
        try handOff(to: part.compressor)
        current = part
        rows += records.count
    }

    func finish() throws -> LoadResult {
        guard !closed, let part = current else { throw ETLError("ndjson_gz output already closed") }
        try close(part)
        current = nil
        closed = true
        var obsolete: [String] = []
        if load.rotates {
            // Parts beyond this run's last one belong to an earlier run.
            var n = done.count + 1
            while true {
                let stale = AtomicFile.resolve(NDJSONGzipLoad.partPath(load.path, n), in: run.workingDirectory)
                guard FileManager.default.fileExists(atPath: stale) else { break }
                obsolete.append(stale)
                n += 1
            }
        }
        return LoadResult(staged: done.map(\.0.staged), rows: rows, bytes: done.reduce(0) { $0 + $1.1 }, obsolete: obsolete)
    }

    func suspend() {
        current?.compressor.discard()
        current = nil
    }

    func abort() {
        if let part = current {
            part.compressor.discard()
            part.output.abort()
        }
        for (output, _) in done { output.abort() }
        current = nil
        done.removeAll()
    }
}
