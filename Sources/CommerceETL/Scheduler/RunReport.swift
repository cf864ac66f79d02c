// What a run reports: per stage counts, for the summary, the manifest and a resumed publish.
import Foundation

public struct StageStats: Sendable {
    public var id: String
    public var kind: String
    public var recordsIn: Int
    public var recordsOut: Int
    public var rows: Int? = nil
    public var bytes: Int64? = nil
    public var target: String? = nil
    /// Records its steps dropped (`on_error: skip`) or quarantined.
    public var skipped = 0
    public var quarantined = 0
    /// Extracts: pages (API responses or files) read.
    public var pages: Int? = nil
    /// Loads: the format and the files written, once published.
    public var format: String? = nil
    public var files: [String] = []
}

public struct RunReport: Sendable {
    public var runID: String
    public var stages: [StageStats]
    /// The quarantine files (`target` the path as configured, `rows` the records).
    public var quarantine: [StageStats] = []
    public var warnings: [String]
    public var seconds: Double
    public var published: [String]
    /// Where the run's manifest was written.
    public var manifest: String? = nil
}

extension StageStats {
    var value: Value {
        var r: Record = ["id": .string(id), "kind": .string(kind), "records_in": .integer(Int64(recordsIn)),
                         "records_out": .integer(Int64(recordsOut)), "skipped": .integer(Int64(skipped)),
                         "quarantined": .integer(Int64(quarantined)), "files": .array(files.map { .string($0) })]
        if let rows { r["rows"] = .integer(Int64(rows)) }
        if let bytes { r["bytes"] = .integer(bytes) }
        if let target { r["target"] = .string(target) }
        if let pages { r["pages"] = .integer(Int64(pages)) }
        if let format { r["format"] = .string(format) }
        return .object(r)
    }

    init?(value: Value) {
        guard let id = value["id"]?.string, let kind = value["kind"]?.string else { return nil }
        self.init(id: id, kind: kind, recordsIn: value["records_in"]?.int ?? 0, recordsOut: value["records_out"]?.int ?? 0)
        rows = value["rows"]?.int
        if case .integer(let b)? = value["bytes"] { bytes = b }
        target = value["target"]?.string
        skipped = value["skipped"]?.int ?? 0
        quarantined = value["quarantined"]?.int ?? 0
        pages = value["pages"]?.int
        format = value["format"]?.string
        if case .array(let f)? = value["files"] { files = f.compactMap(\.string) }
    }
}

extension Duration {
    var seconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }
}
