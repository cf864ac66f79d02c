// The run manifest: a JSON record of what one successful run read and wrote, for the people
// and jobs downstream. Written before the outputs are published and renamed with them, to the pipeline's
// `manifest:` path or beside the first output as `PIPELINE.manifest.json` (a run that wrote
// no file and names no manifest path writes none):
//
//   {"pipeline": "orders-export", "run_id": "...", "started_at": "...", "finished_at": "...",
//    "extracts": [{"stage": "orders", "records": 5000, "pages": 26}],
//    "transforms": [{"stage": "lines", "records_in": 5000, "records_out": 14149, "skipped": 0, "quarantined": 0}],
//    "loads": [{"stage": "lines_csv", "format": "csv", "rows": 14149,
//               "files": [{"path": "out/orders-export/order-lines.csv", "bytes": 1542951, "sha256": "..."}]}],
//    "quarantine": [{"path": "out/bad.ndjson", "records": 3}],
//    "warnings": []}
//
// File paths are relative to the working directory when they lie inside it.
import Crypto
import Foundation
import OrderedCollections

/// A manifest written under its temporary name, renamed into place with the outputs.
struct PreparedManifest {
    let path: String
    let temporary: String

    func commit() throws { try AtomicFile.publish(temporary: temporary, final: path) }
    func discard() { try? FileManager.default.removeItem(atPath: temporary) }
}

enum Manifest {
    /// Where the manifest goes; nil when the run wrote no file and no manifest path is configured.
    static func path(pipeline: Pipeline, stages: [StageStats], run: RunContext) throws -> String? {
        let firstOutput = stages.flatMap(\.files).first
        if firstOutput == nil, pipeline.manifest == nil { return nil }
        if let configured = pipeline.manifest { return try OutputPath.final(configured, run: run) }
        let dir = firstOutput.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path } ?? run.outputBase
        return URL(fileURLWithPath: dir).appendingPathComponent("\(pipeline.name).manifest.json").path
    }

    /// Writes the manifest under a temporary name, before anything is published; files are read
    /// (for their size and SHA-256) from `sources`, the temporary each final name is renamed from.
    static func prepare(pipeline: Pipeline, report: RunReport, run: RunContext, startedAt: Date, finishedAt: Date,
                        sources: [String: String]) throws -> PreparedManifest? {
        guard let path = try path(pipeline: pipeline, stages: report.stages, run: run) else { return nil }
        func shown(_ file: String) -> String {
            let prefix = run.workingDirectory.hasSuffix("/") ? run.workingDirectory : run.workingDirectory + "/"
            return file.hasPrefix(prefix) ? String(file.dropFirst(prefix.count)) : file
        }
        func fileEntry(_ file: String) throws -> Value {
            let source = sources[file].flatMap { FileManager.default.fileExists(atPath: $0) ? $0 : nil } ?? file
            let (bytes, digest) = try sha256(source)
            return .object(["path": .string(shown(file)), "bytes": .integer(bytes), "sha256": .string(digest)])
        }
        var extracts: [Value] = [], transforms: [Value] = [], loads: [Value] = []
        for s in report.stages {
            switch s.kind {
            case "extract":
                extracts.append(.object(["stage": .string(s.id), "records": .integer(Int64(s.recordsOut)), "pages": .integer(Int64(s.pages ?? 0))]))
            case "transform":
                transforms.append(.object(["stage": .string(s.id), "records_in": .integer(Int64(s.recordsIn)), "records_out": .integer(Int64(s.recordsOut)),
                                           "skipped": .integer(Int64(s.skipped)), "quarantined": .integer(Int64(s.quarantined))]))
            default:
                var entry: OrderedDictionary<String, Value> = ["stage": .string(s.id), "format": .string(s.format ?? ""), "rows": .integer(Int64(s.rows ?? 0)),
                                                               "files": .array(try s.files.map(fileEntry))]
                // A load into a database server writes no file: where its rows went instead (no password).
                if s.files.isEmpty, let target = s.target, target.contains("://") { entry["target"] = .string(target) }
                loads.append(.object(Record(entry)))
            }
        }
        let quarantine: [Value] = report.quarantine.filter { ($0.rows ?? 0) > 0 }.sorted { ($0.target ?? "") < ($1.target ?? "") }.map { q in
            let path = q.target ?? ""
            return .object(["path": .string(shown((try? OutputPath.final(path, run: run)) ?? path)), "records": .integer(Int64(q.rows ?? 0))])
        }
        let manifest: Value = .object([
            "pipeline": .string(pipeline.name), "run_id": .string(report.runID), "status": .string("published"),
            "started_at": .string(iso(startedAt)), "finished_at": .string(iso(finishedAt)),
            "extracts": .array(extracts), "transforms": .array(transforms), "loads": .array(loads),
            "quarantine": .array(quarantine), "warnings": .array(report.warnings.map(Value.string)),
        ])
        var bytes: [UInt8] = []
        JSONWriter.write(manifest, into: &bytes)
        bytes.append(10)
        try run.directories.prepare(for: path)
        let temporary = AtomicFile.temporaryPath(for: path, runID: run.runID)
        let file = try OutputFile(creating: temporary)
        do {
            try file.write(bytes)
            try file.close()
        } catch {
            file.discard()
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
        return PreparedManifest(path: path, temporary: temporary)
    }

    /// The manifest of a run that stopped before publishing, so a scheduler can tell what
    /// happened without reading its messages: `status` `failed` (or `interrupted`), the error,
    /// what each stage had done, whether a checkpoint keeps its work for the next run, and
    /// `previous`: the manifest of the last published run, whose outputs are still in place
    /// unchanged. Written where the published manifest goes; best effort (a run that cannot
    /// write it has failed already, and says so).
    static func writeFailed(pipeline: Pipeline, run: RunContext, status: String, error: String, saved: String?, outputsChanged: Bool?,
                            progress: [RunProgress.Stage], warnings: [String], startedAt: Date) throws {
        let configured = pipeline.manifest
        let firstOutput = pipeline.outputs.lazy.compactMap(\.load.outputPath).first
        guard configured != nil || firstOutput != nil else { return }
        let path: String
        if let configured {
            path = try OutputPath.final(configured, run: run)
        } else {
            let first = try OutputPath.final(firstOutput!, run: run)
            path = URL(fileURLWithPath: first).deletingLastPathComponent().appendingPathComponent("\(pipeline.name).manifest.json").path
        }
        // A directory in the way is what failed the run (its error names it): nothing to add.
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue { return }
        var previous: Value = .null
        var bytes: [UInt8] = []
        if let reader = try? FileReader(path: path, limit: 64 << 20) {
            while let chunk = try? reader.read(1 << 20) { bytes += chunk }
        }
        if case .object(let earlier)? = try? JSONReader.parse(bytes) {
            previous = earlier["status"]?.string == "published" || earlier["status"] == nil ? .object(earlier) : (earlier["previous"] ?? .null)
        }
        var extracts: [Value] = [], transforms: [Value] = [], loads: [Value] = []
        for stage in progress {
            switch stage.kind {
            case "extract": extracts.append(.object(["stage": .string(stage.id), "records": .integer(Int64(stage.records)), "pages": .integer(Int64(stage.pages))]))
            case "transform": transforms.append(.object(["stage": .string(stage.id), "records_out": .integer(Int64(stage.records))]))
            default: loads.append(.object(["stage": .string(stage.id), "records": .integer(Int64(stage.records))]))
            }
        }
        let manifest: Value = .object([
            "pipeline": .string(pipeline.name), "run_id": .string(run.runID), "status": .string(status), "error": .string(Secrets.redact(error)),
            "started_at": .string(iso(startedAt)), "finished_at": .string(iso(Date())),
            "checkpoint": saved.map(Value.string) ?? .null, "outputs_changed": outputsChanged.map(Value.bool) ?? .null,
            "extracts": .array(extracts), "transforms": .array(transforms), "loads": .array(loads),
            "warnings": .array(warnings.map(Value.string)), "previous": previous,
        ])
        bytes = []
        JSONWriter.write(manifest, into: &bytes)
        bytes.append(10)
        try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path, withIntermediateDirectories: true)
        try AtomicFile.write(bytes, to: path, temporary: AtomicFile.temporaryPath(for: path, runID: run.runID))
    }

    static func iso(_ date: Date) -> String {
        Timestamp(epochSeconds: Int64(date.timeIntervalSince1970.rounded(.down))).description
    }

    /// Size and SHA-256 (hex) of a file, read in chunks.
    static func sha256(_ path: String) throws -> (Int64, String) {
        let reader = try FileReader(path: path)
        var hasher = SHA256()
        var size: Int64 = 0
        while let chunk = try reader.read(1 << 20) {
            hasher.update(data: chunk)
            size += Int64(chunk.count)
        }
        return (size, hasher.finalize().map { String(format: "%02x", $0) }.joined())
    }
}

extension Manifest {
    /// SHA-256 (hex) of bytes in memory.
    static func sha256(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }
}
