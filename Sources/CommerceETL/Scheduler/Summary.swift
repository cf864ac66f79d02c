// Text for people: the end-of-run summary and the `plan` view of a pipeline.
import Foundation
import Logging

public enum Summary {
    public static func render(_ report: RunReport) -> String {
        var rows: [[String]] = [["stage", "kind", "in", "out", "bytes", "target"]]
        for s in report.stages {
            rows.append([s.id, s.kind, s.kind == "extract" ? "-" : String(s.recordsIn), String(s.recordsOut),
                         s.bytes.map(String.init) ?? "", s.target ?? ""])
        }
        var lines = table(rows)
        for s in report.stages where s.skipped > 0 || s.quarantined > 0 {
            lines.append("stage \(s.id): \(s.skipped) record(s) skipped, \(s.quarantined) quarantined")
        }
        for warning in report.warnings { lines.append("warning: \(warning)") }
        lines.append("run \(report.runID) finished in \(formatSeconds(report.seconds)); \(report.published.count) output(s) published"
                     + (report.manifest.map { ", manifest \($0)" } ?? ""))
        return lines.joined(separator: "\n")
    }

    /// The report as log fields, for `--log-format json`.
    public static func fields(_ report: RunReport) -> Logger.Metadata {
        var fields: Logger.Metadata = ["run_id": "\(report.runID)", "status": "published", "seconds": "\(String(format: "%.3f", report.seconds))",
                                       "published": .array(report.published.map { .string($0) }),
                                       "stages": .array((report.stages + report.quarantine).map { s in
                                           var f: Logger.Metadata = ["id": "\(s.id)", "kind": "\(s.kind)", "records_in": "\(s.recordsIn)", "records_out": "\(s.recordsOut)"]
                                           if let bytes = s.bytes { f["bytes"] = "\(bytes)" }
                                           if let target = s.target { f["target"] = "\(target)" }
                                           if s.skipped > 0 { f["skipped"] = "\(s.skipped)" }
                                           if s.quarantined > 0 { f["quarantined"] = "\(s.quarantined)" }
                                           return .dictionary(f)
                                       })]
        if !report.warnings.isEmpty { fields["warnings"] = .array(report.warnings.map { .string($0) }) }
        if let manifest = report.manifest { fields["manifest"] = "\(manifest)" }
        return fields
    }

    public static func plan(_ pipeline: Pipeline) -> String {
        var lines = ["pipeline \(pipeline.name)" + (pipeline.description.map { ": \($0)" } ?? "")]
        func describe(_ stage: Stage, depth: Int) {
            let indent = String(repeating: "  ", count: depth)
            switch stage.role {
            case .extract(let connection, let summary, _, _):
                lines.append("\(indent)extract \(stage.id) <- connection \(connection) [\(summary)]")
            case .transform(let steps, let workers):
                lines.append("\(indent)transform \(stage.id) (\(steps.map(\.name).joined(separator: ", ")); \(workers) worker(s))")
                for path in ErrorPolicy.quarantinePaths(steps) {
                    let by = steps.filter { $0.onError == .quarantine(path) }.map(\.name).joined(separator: ", ")
                    lines.append("\(indent)  quarantine -> ndjson \(path) (records \(by) cannot process)")
                }
            case .load(let format, let load):
                lines.append("\(indent)load \(stage.id) -> \(format) \(load.target)")
            }
            for consumer in pipeline.consumers(of: stage.id) { describe(consumer, depth: depth + 1) }
        }
        for stage in pipeline.stages where stage.input == nil { describe(stage, depth: 1) }
        return lines.joined(separator: "\n")
    }

    static func table(_ rows: [[String]]) -> [String] {
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { c, cell in
                c == row.count - 1 ? cell : cell.padding(toLength: widths[c], withPad: " ", startingAt: 0)
            }.joined(separator: "  ").trimmingTrailingSpaces()
        }
    }

    static func formatSeconds(_ s: Double) -> String {
        s < 10 ? String(format: "%.2fs", s) : String(format: "%.1fs", s)
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
