// Records a step could not process, with the reason, as NDJSON (`on_error: { quarantine: PATH }`).
// Quarantine files are outputs like any other: written under a temporary name and published
// only when the run succeeds. Lines are written in record order (by the stage, after its
// parallel workers), so they take part in checkpoints like a load's file.
import Foundation
import Synchronization

public final class QuarantineFiles: Sendable {
    private struct Open: @unchecked Sendable {
        // Only used under the lock.
        let output: StagedOutput
        let file: OutputFile
    }

    private let files = Mutex<[String: Open]>([:])
    private let written = Mutex<[String: Int]>([:])
    /// Per configured path: the state an interrupted run's checkpoint left, to continue from.
    private let resumeStates = Mutex<[String: Value]>([:])

    public init() {}

    /// The name a quarantine file's state has in checkpoints, apart from load stage ids (which
    /// cannot hold ':').
    static func outputID(_ path: String) -> String { "quarantine:" + path }

    /// The quarantine path an output id names; nil for a load stage's id.
    static func path(ofOutput id: String) -> String? {
        id.hasPrefix("quarantine:") ? String(id.dropFirst("quarantine:".count)) : nil
    }

    /// One quarantine line.
    static func line(stage: String, step: String, reason: String, record: Record) -> [UInt8] {
        var line: [UInt8] = []
        JSONWriter.write(.object(["stage": .string(stage), "step": .string(step), "reason": .string(Secrets.redact(reason)), "record": .object(record)]), into: &line)
        line.append(10)
        return line
    }

    /// Continues an interrupted run's quarantine files from their checkpointed states.
    func resume(_ states: [String: Value]) {
        resumeStates.withLock { $0 = states }
        written.withLock { w in for (path, state) in states { w[path] = state["records"]?.int ?? 0 } }
    }

    private func open(_ path: String, run: RunContext, in files: inout [String: Open]) throws -> Open {
        if let existing = files[path] { return existing }
        let output = try StagedOutput(path: path, run: run)
        let state = resumeStates.withLock { $0.removeValue(forKey: path) }
        let file: OutputFile
        if let state, state["opened"]?.bool == true {
            file = try OutputFile(continuing: output.temporary, at: Int64(state["offset"]?.int ?? 0))
        } else {
            file = try OutputFile(creating: output.temporary)
        }
        let open = Open(output: output, file: file)
        files[path] = open
        return open
    }

    func write(path: String, run: RunContext, lines: [UInt8], count: Int) throws {
        try files.withLock { files in try open(path, run: run, in: &files).file.write(lines) }
        written.withLock { $0[path, default: 0] += count }
    }

    /// Syncs a quarantine file; its state for a checkpoint.
    func checkpoint(path: String, run: RunContext) throws -> Value {
        let records = written.withLock { $0[path] ?? 0 }
        return try files.withLock { files in
            if files[path] == nil, let state = resumeStates.withLock({ $0[path] }), state["opened"]?.bool == true {
                _ = try open(path, run: run, in: &files)
            }
            guard let open = files[path] else { return .object(["opened": .bool(false), "records": .integer(0)]) }
            try open.file.sync()
            return .object(["opened": .bool(true), "temporary": .array([.string(open.output.temporary)]),
                            "offset": .integer(open.file.bytesWritten), "records": .integer(Int64(records))])
        }
    }

    /// Drops a quarantine file's lines (its extract starts over).
    func restart(path: String) {
        files.withLock { files in
            if let open = files.removeValue(forKey: path) {
                open.file.discard()
                open.output.abort()
            }
        }
        resumeStates.withLock { _ = $0.removeValue(forKey: path) }
        written.withLock { $0[path] = nil }
    }

    /// Records written per quarantine path (as configured).
    public var counts: [String: Int] { written.withLock { $0.filter { $0.value > 0 } } }

    /// Closes every file; returns them for publishing.
    func finish(run: RunContext) throws -> [StagedFile] {
        // A file an interrupted run opened but this run wrote nothing more to is still published.
        for path in resumeStates.withLock({ $0.filter { $0.value["opened"]?.bool == true }.map(\.key) }) {
            try files.withLock { files in _ = try open(path, run: run, in: &files) }
        }
        return try files.withLock { files in
            try files.values.map { open in
                try open.file.close()
                return open.output.staged
            }
        }
    }

    /// Closes every file, keeping them for a resumed run.
    func suspend() {
        files.withLock { files in
            for open in files.values { open.file.discard() }
            files.removeAll()
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
