// A quarantine file (`on_error: { quarantine: PATH }`) is a load like any other: the graph gives
// it a node reading the side output of every stage whose steps quarantine into PATH, so it is
// written under a temporary name, takes part in checkpoints and is published with the outputs.
// The file is created only when the first record arrives; a run with none writes no file.

struct QuarantineLoad: LoadFormat {
    var path: String

    var target: String { path }

    /// Its node's name in the graph and the checkpoint (stage ids cannot hold parentheses).
    var nodeID: String { "quarantine(\(path))" }

    /// What the file gets for a record a step could not process.
    static func record(stage: String, step: String, reason: String, record: Record) -> Record {
        ["stage": .string(stage), "step": .string(step), "reason": .string(Secrets.redact(reason)), "record": .object(record)]
    }

    struct State: Codable {
        var opened: Bool
        var temporary: [String]
        var offset: Int64
        var records: Int
    }

    func checkTarget(_ run: RunContext) throws -> String { try checkWritableFile(path, run: run) }

    var outputPath: String? { path }

    func makeWriter(_ run: RunContext, resume: Value?) throws -> any LoadWriter {
        let writer = Writer(path: path, run: run)
        // A file an interrupted run opened is continued (and published) even if no record follows.
        if let resume, resume["opened"] == .bool(true) {
            let state = try resume.state(State.self, of: path)
            try writer.open(continuingAt: state.offset, records: state.records)
        }
        return writer
    }

    final class Writer: LoadWriter {
        let path: String
        let run: RunContext
        var output: StagedOutput?
        var file: OutputFile?
        var records = 0

        init(path: String, run: RunContext) {
            self.path = path
            self.run = run
        }

        func open(continuingAt offset: Int64? = nil, records: Int = 0) throws {
            let output = try StagedOutput(path: path, run: run)
            file = try offset.map { try OutputFile(continuing: output.temporary, at: $0) } ?? OutputFile(creating: output.temporary)
            self.output = output
            self.records = records
        }

        func write(_ batch: [Record]) throws {
            guard !batch.isEmpty else { return }
            if file == nil { try open() }
            var bytes: [UInt8] = []
            for record in batch {
                JSONWriter.write(record, into: &bytes)
                bytes.append(10)
            }
            try file?.write(bytes)
            records += batch.count
        }

        func checkpoint(final: Bool) throws -> Value {
            guard let file, let output else { return try Value(state: State(opened: false, temporary: [], offset: 0, records: 0)) }
            try file.sync()
            return try Value(state: State(opened: true, temporary: [output.temporary], offset: file.bytesWritten, records: records))
        }

        func restart() throws {
            abort()
            records = 0
        }

        func finish() throws -> LoadResult {
            guard let file, let output else { return LoadResult(staged: [], rows: 0, bytes: 0) }
            try file.close()
            return LoadResult(staged: [output.staged], rows: records, bytes: file.bytesWritten)
        }

        func abort() {
            file?.discard()
            output?.abort()
            file = nil
            output = nil
        }

        func suspend() { file?.discard() }
    }
}
