// An example of a load format added from outside the library: one file and one `register`
// line (see ExtensionTests.swift). `jsonl: { path: out/records.jsonl }` writes one JSON object
// per line, uncompressed, and takes part in checkpoints: at each mark it syncs the file and
// reports how far it got, and a resumed run cuts the file back to that point and goes on.
import CommerceETL

struct JSONLinesLoad: LoadKind {
    static let name = "jsonl"
    enum Keys {
        static let path = Key.outputPath("path", doc: "the output file", example: "out/records.jsonl")
    }
    static let value = OptionSpec(name, .options([Keys.path.spec]), doc: "one JSON object per line, uncompressed",
                                  example: "{ path: out/records.jsonl }")

    var path: String
    var target: String { path }

    static func parse(_ value: ConfigValue) -> (any LoadFormat)? {
        guard let config = value.map() else { return nil }
        let path = config.read(Keys.path)
        config.finish()
        return path.map { JSONLinesLoad(path: $0) }
    }

    /// Where a checkpoint left the output. `temporary` is what `discard` removes by default.
    struct State: Codable {
        var temporary: [String]
        var offset: Int64
        var rows: Int
    }

    func makeWriter(_ run: RunContext, resume: Value?) throws -> any LoadWriter {
        let output = try StagedOutput(path: path, run: run)
        // A state with no `temporary` is a base (what the output held before the run): none here.
        if let resume, resume["temporary"] != nil {
            let state = try resume.state(State.self, of: target)
            return Writer(output: output, file: try OutputFile(continuing: output.temporary, at: state.offset), rows: state.rows)
        }
        return Writer(output: output, file: try OutputFile(creating: output.temporary), rows: 0)
    }

    final class Writer: LoadWriter {
        let output: StagedOutput
        var file: OutputFile
        var rows: Int

        init(output: StagedOutput, file: OutputFile, rows: Int) {
            self.output = output
            self.file = file
            self.rows = rows
        }

        func write(_ records: [Record]) throws {
            var bytes: [UInt8] = []
            for record in records {
                JSONWriter.write(record, into: &bytes)
                bytes.append(10)
            }
            try file.write(bytes)
            rows += records.count
        }

        func checkpoint(final: Bool) throws -> Value {
            try file.sync()
            return try Value(state: State(temporary: [output.temporary], offset: file.bytesWritten, rows: rows))
        }

        func restart() throws {
            file.discard()
            file = try OutputFile(creating: output.temporary)
            rows = 0
        }

        func finish() throws -> LoadResult {
            try file.close()
            return LoadResult(staged: [output.staged], rows: rows, bytes: file.bytesWritten)
        }

        func abort() {
            file.discard()
            output.abort()
        }

        func suspend() { file.discard() }
    }
}
