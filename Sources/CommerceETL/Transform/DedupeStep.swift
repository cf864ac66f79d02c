// `dedupe`: keeps the first record of each key within a run. Migrations over APIs without
// paging snapshots can see a record twice when pages shift under them.
//
//   - dedupe: { key: [OrderID] }
//
// Records whose key fields are all null are kept (they cannot be told apart). The stage runs its
// batches one at a time so "first" is the first in the source's order; keys are held in memory.
import Synchronization

public final class DedupeStep: StepKind {
    /// Fields that identify a record.
    public let key: [FieldPath]
    private let seen = Mutex<Set<[UInt8]>>([])

    init(key: [FieldPath]) { self.key = key }

    public static let name = "dedupe"
    enum Keys {
        static let key = Key.strings("key", required: true, doc: "the identifying dotted paths; records whose key fields are all null are kept", example: "[OrderID]")
    }
    public static let value = OptionSpec(name, .options([Keys.key.spec]), doc: "keeps the first record of each key within a run (the stage then runs its batches one at a time, in order)",
                                         example: "{ key: [OrderID] }")

    public static func parse(_ value: ConfigValue) -> (any TransformStep)? {
        guard let config = value.map() else { return nil }
        let texts = config.read(Keys.key)
        config.finish()
        guard let texts else { return nil }
        var paths: [FieldPath] = []
        for text in texts {
            guard let path = FieldPath(text) else {
                config.value(Keys.key.spec)?.error("'\(config.path).key' holds an invalid field path: '\(text)'")
                return nil
            }
            paths.append(path)
        }
        guard !paths.isEmpty else {
            config.value(Keys.key.spec)?.error("'\(config.path).key' lists no fields")
            return nil
        }
        return DedupeStep(key: paths)
    }

    public var isStateful: Bool { true }

    /// A fresh memory of keys for each run.
    public func prepared(for run: RunContext) throws -> any TransformStep { DedupeStep(key: key) }

    public func apply(_ records: [Record]) throws -> [Record] {
        seen.withLock { seen in
            records.filter { record in
                let values = key.map { record.value(at: $0) ?? .null }
                if values.allSatisfy(\.isNull) { return true }
                var bytes: [UInt8] = []
                JSONWriter.write(.array(values), into: &bytes)
                return seen.insert(bytes).inserted
            }
        }
    }
}
