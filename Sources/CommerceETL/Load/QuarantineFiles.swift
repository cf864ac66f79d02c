// Records a step could not process, with the reason, as NDJSON (`on_error: { quarantine: PATH }`).
// Quarantine files are outputs like any other: written under a temporary name and published
// only when the run succeeds.
import Synchronization

public final class QuarantineFiles: Sendable {
    private struct Open: @unchecked Sendable {
        // Only used under the lock.
        let output: StagedOutput
        let file: OutputFile
    }

    private let files = Mutex<[String: Open]>([:])
    private let written = Mutex<[String: Int]>([:])

    public init() {}

    func write(path: String, run: RunContext, stage: String, step: String, reason: String, record: Record) throws {
        var line: [UInt8] = []
        JSONWriter.write(.object(["stage": .string(stage), "step": .string(step), "reason": .string(reason), "record": .object(record)]), into: &line)
        line.append(10)
        try files.withLock { files in
            let open: Open
            if let existing = files[path] {
                open = existing
            } else {
                let output = try StagedOutput(path: path, run: run)
                open = Open(output: output, file: try OutputFile(creating: output.temporary))
                files[path] = open
            }
            try open.file.write(line)
        }
        written.withLock { $0[path, default: 0] += 1 }
    }

    /// Records written per quarantine path (as configured).
    public var counts: [String: Int] { written.withLock { $0 } }

    /// Closes every file; returns them for publishing.
    func finish() throws -> [StagedFile] {
        try files.withLock { files in
            try files.values.map { open in
                try open.file.close()
                return open.output.staged
            }
        }
    }

    func abort() {
        files.withLock { files in
            for open in files.values {
                open.file.discard()
                open.output.abort()
            }
            files.removeAll()
        }
    }
}
