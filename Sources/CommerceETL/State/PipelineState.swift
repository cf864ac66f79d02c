// What a pipeline remembers between runs: per extract stage, the bookmark (high-water mark) of
// its incremental field. Kept as JSON in the state directory (default
// `.commerce-etl/state/<pipeline>/state.json`), written atomically (temporary file, fsync,
// rename), and only after a run has committed every output, so a failed run never moves it.
import Foundation
import Synchronization

public final class PipelineState: Sendable {
    public let directory: String
    private let saved: [String: Timestamp]
    private let proposed = Mutex<[String: Timestamp]>([:])

    public var file: String { URL(fileURLWithPath: directory).appendingPathComponent("state.json").path }

    /// Reads the state in `directory` (none yet is an empty state).
    public init(directory: String) throws {
        self.directory = directory
        let path = URL(fileURLWithPath: directory).appendingPathComponent("state.json").path
        guard FileManager.default.fileExists(atPath: path) else {
            saved = [:]
            return
        }
        let reader: FileReader
        do { reader = try FileReader(path: path) } catch { throw ETLError("\(path): cannot read the pipeline state: \(error)") }
        var bytes: [UInt8] = []
        while let chunk = try reader.read(1 << 16) { bytes += chunk }
        guard case .object(let top)? = try? JSONReader.parse(bytes), case .object(let stages)? = top["stages"] else {
            throw ETLError("\(path): the pipeline state is not valid JSON of this tool's shape; reset it with 'commerce-etl state reset'")
        }
        var marks: [String: Timestamp] = [:]
        for (stage, value) in stages.fields {
            if case .object(let s) = value, case .string(let text)? = s["bookmark"], case .dateTime(let t)? = DateParser.parse(text) {
                marks[stage] = t
            }
        }
        saved = marks
    }

    /// The bookmark the last successful run left for a stage.
    public func bookmark(_ stage: String) -> Timestamp? { saved[stage] }

    public var bookmarks: [String: Timestamp] { saved }

    /// A newer high-water mark seen during this run; kept only if the run succeeds.
    public func propose(_ stage: String, _ mark: Timestamp) {
        proposed.withLock { p in
            if let current = p[stage], current >= mark { return }
            p[stage] = mark
        }
    }

    /// The marks this run proposes so far.
    var proposals: [String: Timestamp] { proposed.withLock { $0 } }

    /// Writes the bookmarks of this run over the saved ones (called after every output is committed).
    public func commit() throws {
        let updates = proposed.withLock { $0 }
        guard !updates.isEmpty else { return }
        var merged = saved
        for (stage, mark) in updates where merged[stage].map({ mark > $0 }) ?? true { merged[stage] = mark }
        try Self.write(merged, to: directory)
    }

    static func write(_ marks: [String: Timestamp], to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var stages = Record()
        for stage in marks.keys.sorted() { stages[stage] = .object(["bookmark": .string(marks[stage]!.description)]) }
        var bytes: [UInt8] = []
        JSONWriter.write(.object(["version": .integer(1), "stages": .object(stages)]), into: &bytes)
        bytes.append(10)
        let path = URL(fileURLWithPath: directory).appendingPathComponent("state.json").path
        // One fixed temporary name: a process killed while writing leaves nothing that piles up.
        try AtomicFile.write(bytes, to: path, temporary: path + ".tmp")
    }

    /// Forgets one stage's bookmark, or all of them.
    public static func reset(directory: String, stage: String?) throws {
        let state = try PipelineState(directory: directory)
        var marks = state.saved
        if let stage { marks.removeValue(forKey: stage) } else { marks.removeAll() }
        try write(marks, to: directory)
    }

    /// `.commerce-etl/state/<pipeline>` under the working directory.
    public static func defaultDirectory(pipeline: String, workingDirectory: String) -> String {
        URL(fileURLWithPath: workingDirectory).appendingPathComponent(".commerce-etl/state/\(pipeline)").path
    }
}
