// Checkpoints: how a run that dies part way (SIGKILL included) is continued instead of started over.
//
// Every `checkpoint_every` pages an extract sends a mark down its stages, behind the records of
// those pages. Stages pass marks on in order; a load that receives one makes everything before it
// durable (file data synced with gzip members closed, SQLite committed) and reports where it
// stands. When every load (and quarantine file) below an extract has reported a mark, the mark's
// position (the page to continue from, the paging token, the high-water mark so far) and their
// states are written to `checkpoint.json` in the pipeline's state directory (atomically). The
// file is removed when the run has published its outputs. A run that finds one continues it:
// outputs are cut back to their checkpointed states and the extracts continue from their marks.
// Because marks are placed by page count, an interrupted and resumed run writes the same bytes as
// an uninterrupted one.
import Foundation
import OrderedCollections
import Synchronization

/// The saved checkpoint of an unfinished run (`checkpoint.json`).
public struct SavedCheckpoint: Sendable {
    public struct Extract: Sendable {
        public var seq: Int
        public var pages: Int
        public var records: Int
        public var position: Value
        public var final: Bool
        /// Each load's (or quarantine file's) state at the mark.
        public var outputs: [String: Value]
        /// Each transform below the extract: records in, out, skipped, quarantined up to the mark.
        public var transforms: [String: [Int]] = [:]
    }

    public var runID: String
    public var runDate: String
    public var pipelineDigest: String
    public var extracts: [String: Extract]
    /// Outputs' states before the run (an append table's rowids), to take back an extract's rows when it starts over.
    public var bases: [String: Value] = [:]
    /// Set once every output is complete and the run has begun publishing them.
    public var publishing: Value?

    static let fileName = "checkpoint.json"

    /// An output's name as this version gives it: checkpoints of earlier versions named a
    /// quarantine file `quarantine:PATH`; it is now the load node `quarantine(PATH)`.
    static func currentName(of output: String) -> String {
        output.hasPrefix("quarantine:") ? QuarantineLoad(path: String(output.dropFirst("quarantine:".count))).nodeID : output
    }

    public static func path(in directory: String) -> String {
        URL(fileURLWithPath: directory).appendingPathComponent(fileName).path
    }

    /// Reads the checkpoint in a state directory; nil when there is none.
    public static func load(directory: String) throws -> SavedCheckpoint? {
        let path = path(in: directory)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let bad = ETLError("\(path): the checkpoint is not valid JSON of this tool's shape; discard it with 'commerce-etl state reset'")
        let reader: FileReader
        do { reader = try FileReader(path: path) } catch { throw ETLError("\(path): cannot read the checkpoint: \(error)") }
        var bytes: [UInt8] = []
        while let chunk = try reader.read(1 << 16) { bytes += chunk }
        guard case .object(let top)? = try? JSONReader.parse(bytes),
              case .string(let runID)? = top["run_id"], case .string(let runDate)? = top["run_date"],
              case .string(let digest)? = top["pipeline_sha256"], case .object(let list)? = top["extracts"] else { throw bad }
        var extracts: [String: Extract] = [:]
        for (stage, value) in list.fields {
            guard case .object(let e) = value, case .integer(let seq)? = e["seq"], case .integer(let pages)? = e["pages"],
                  case .integer(let records)? = e["records"], case .object(let outputs)? = e["outputs"] else { throw bad }
            var final = false
            if case .bool(let f)? = e["final"] { final = f }
            extracts[stage] = Extract(seq: Int(seq), pages: Int(pages), records: Int(records), position: e["position"] ?? .null,
                                      final: final, outputs: Dictionary(outputs.fields.map { (Self.currentName(of: $0.key), $0.value) },
                                                                        uniquingKeysWith: { a, _ in a }))
            // Absent in checkpoints of earlier versions: those transforms count from zero.
            if case .object(let counts)? = e["transforms"] {
                for (id, value) in counts.fields {
                    guard case .array(let items) = value, items.count == 4 else { throw bad }
                    let numbers = items.compactMap { $0.int }.filter { $0 >= 0 }
                    guard numbers.count == 4 else { throw bad }
                    extracts[stage]?.transforms[id] = numbers
                }
            }
        }
        let publishing = top["publishing"].flatMap { $0.isNull ? nil : $0 }
        var bases: [String: Value] = [:]
        if case .object(let b)? = top["bases"] { for (k, v) in b.fields { bases[k] = v } }
        return SavedCheckpoint(runID: runID, runDate: runDate, pipelineDigest: digest, extracts: extracts, bases: bases, publishing: publishing)
    }

    func write(directory: String) throws {
        var list = Record()
        for stage in extracts.keys.sorted() {
            let e = extracts[stage]!
            var outputs = Record()
            for key in e.outputs.keys.sorted() { outputs[key] = e.outputs[key]! }
            var transforms = Record()
            for key in e.transforms.keys.sorted() { transforms[key] = .array(e.transforms[key]!.map { .integer(Int64($0)) }) }
            list[stage] = .object(["seq": .integer(Int64(e.seq)), "pages": .integer(Int64(e.pages)), "records": .integer(Int64(e.records)),
                                   "final": .bool(e.final), "position": e.position, "outputs": .object(outputs), "transforms": .object(transforms)])
        }
        let top: Record = ["version": .integer(1), "run_id": .string(runID), "run_date": .string(runDate),
                           "pipeline_sha256": .string(pipelineDigest), "extracts": .object(list),
                           "bases": .object(Record(OrderedDictionary(uniqueKeysWithValues: bases.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }))),
                           "publishing": publishing ?? .null]
        var bytes: [UInt8] = []
        JSONWriter.write(.object(top), into: &bytes)
        bytes.append(10)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = Self.path(in: directory)
        // One fixed temporary name: a process killed while writing leaves nothing that piles up.
        try AtomicFile.write(bytes, to: path, temporary: path + ".tmp")
    }

    public static func remove(directory: String) throws {
        let path = path(in: directory)
        try? FileManager.default.removeItem(atPath: path + ".tmp")
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
    }

    /// One line for `state show`.
    public var summary: String {
        let parts = extracts.keys.sorted().map { stage -> String in
            let e = extracts[stage]!
            return "\(stage): \(e.final ? "all" : "")\(e.final ? " " : "")\(e.pages) page(s), \(e.records) record(s) written"
        }
        return "unfinished run \(runID)\(publishing != nil ? " (publishing)" : ""): " + (parts.isEmpty ? "nothing written yet" : parts.joined(separator: "; "))
    }
}

/// Collects the outputs' reports for each mark and saves the checkpoint once all below an extract have one.
public final class CheckpointCoordinator: Sendable {
    /// Per extract: the outputs (load stages and quarantine files) that must report each of its marks.
    let outputs: [String: Set<String>]
    let directory: String
    private let saved: Mutex<SavedCheckpoint>
    private struct Key: Hashable {
        var extract: String
        var generation: Int
        var seq: Int
    }
    /// Reports of marks not yet reported by every output. Each output reports its marks in order,
    /// so a mark is complete no later than the next one.
    private let pending = Mutex<[Key: [String: Value]]>([:])
    init(checkpoint: SavedCheckpoint, outputs: [String: Set<String>], directory: String) {
        self.saved = Mutex(checkpoint)
        self.outputs = outputs
        self.directory = directory
    }

    var current: SavedCheckpoint { saved.withLock { $0 } }

    /// Writes the checkpoint as it stands (at the start of a run: its id, so a killed run is found).
    func save() throws {
        try saved.withLock { try $0.write(directory: directory) }
    }

    /// An output has made everything before `mark` durable and can be brought back to `state`.
    func report(output: String, mark: CheckpointMark, state: Value) throws {
        let expected = outputs[mark.extract] ?? []
        let key = Key(extract: mark.extract, generation: mark.generation, seq: mark.seq)
        let complete: [String: Value]? = pending.withLock { pending in
            if mark.restart {
                for stale in pending.keys where stale.extract == mark.extract && stale.generation < mark.generation { pending[stale] = nil }
            }
            var states = pending[key] ?? [:]
            states[output] = state
            if Set(states.keys).isSuperset(of: expected) {
                pending[key] = nil
                return states
            }
            pending[key] = states
            return nil
        }
        guard let complete else { return }
        try saved.withLock { checkpoint in
            checkpoint.extracts[mark.extract] = SavedCheckpoint.Extract(seq: mark.seq, pages: mark.pages, records: mark.records,
                                                                      position: mark.position, final: mark.final, outputs: complete,
                                                                      transforms: mark.transforms)
            try checkpoint.write(directory: directory)
        }
    }

    /// Whether any extract has a mark saved beyond its start.
    var hasProgress: Bool { saved.withLock { $0.extracts.values.contains { $0.seq > 0 } } }

    /// Records that the outputs are complete and being published, with what finishing needs.
    func publishing(_ value: Value) throws {
        try saved.withLock { checkpoint in
            checkpoint.publishing = value
            try checkpoint.write(directory: directory)
        }
    }

    /// Forgets the checkpoint (the run is published, or left nothing to continue).
    func remove() throws { try SavedCheckpoint.remove(directory: directory) }
}

/// How a run with checkpoints starts: fresh, or continuing an interrupted one.
public struct ResumePlan: Sendable {
    /// Per extract: the mark to continue from (nil: from the start).
    public var extracts: [String: SavedCheckpoint.Extract]
    /// Outputs' states before the run.
    public var bases: [String: Value] = [:]

    /// The saved state of one output of an extract, if the extract continues.
    func state(of output: String, extract: String) -> Value? { extracts[extract]?.outputs[output] }
}
