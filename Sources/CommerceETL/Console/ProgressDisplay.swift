// Shows a running pipeline's progress: on a terminal, one live line per stage redrawn a few
// times a second (cleared before the summary); elsewhere with `-v`, one plain line per stage
// every `interval`; otherwise nothing (cron mail and CI logs get warnings, errors, the summary).
import Foundation
import Logging

public enum ProgressDisplay {
    /// Starts showing `progress` on `console`; cancel the task and call `console.clearLive()` to stop.
    public static func start(_ progress: RunProgress, console: Console, interval: Duration) -> Task<Void, Never>? {
        if console.isTerminal, console.format == .text, console.verbosity != .quiet {
            return Task.detached {
                while !Task.isCancelled {
                    console.draw(liveLines(progress.stages, now: .now))
                    try? await Task.sleep(for: .milliseconds(250))
                }
            }
        }
        guard console.verbosity == .verbose else { return nil }
        return Task.detached {
            var reported: Set<String> = []
            while true {
                do { try await Task.sleep(for: interval) } catch { return }
                let now = ContinuousClock.now
                for stage in progress.stages where !reported.contains(stage.id) {
                    // A finished stage is reported once more, then left out.
                    if stage.finished { reported.insert(stage.id) }
                    console.log(.info, plainLine(stage, now: now), stage: stage.id, fields: fields(stage, now: now))
                }
            }
        }
    }

    /// One line per stage, names and counts in columns.
    public static func liveLines(_ stages: [RunProgress.Stage], now: ContinuousClock.Instant) -> [String] {
        let width = stages.map(\.id.count).max() ?? 0
        return stages.map { stage in
            var parts = [stage.id.padding(toLength: width, withPad: " ", startingAt: 0), stage.kind.padding(toLength: 10, withPad: " ", startingAt: 0),
                         "\(grouped(stage.records)) records"]
            if stage.finished {
                parts.append("done")
            } else {
                parts.append("\(grouped(Int(stage.rate(at: now).rounded())))/s")
            }
            parts += extractDetails(stage, now: now)
            return parts.joined(separator: "  ")
        }
    }

    /// "12,400 records so far (2,310/s), page 62 of 100, about 16 s left".
    public static func plainLine(_ stage: RunProgress.Stage, now: ContinuousClock.Instant) -> String {
        var text = "\(grouped(stage.records)) records " + (stage.finished ? "(done)" : "so far (\(grouped(Int(stage.rate(at: now).rounded())))/s)")
        let details = extractDetails(stage, now: now)
        if !details.isEmpty { text += ", " + details.joined(separator: ", ") }
        return text
    }

    static func fields(_ stage: RunProgress.Stage, now: ContinuousClock.Instant) -> [String: Logger.MetadataValue] {
        var f: [String: Logger.MetadataValue] = ["kind": "\(stage.kind)", "records": "\(stage.records)",
                                                  "per_second": "\(Int(stage.rate(at: now).rounded()))", "finished": "\(stage.finished)"]
        if stage.kind == "extract" { f["pages"] = "\(stage.pages)" }
        if let t = stage.totalPages { f["total_pages"] = "\(t)" }
        if let t = stage.totalRecords { f["total_records"] = "\(t)" }
        if let left = stage.secondsLeft(at: now) { f["seconds_left"] = "\(Int(left.rounded()))" }
        if stage.retries > 0 { f["retries"] = "\(stage.retries)" }
        return f
    }

    private static func extractDetails(_ stage: RunProgress.Stage, now: ContinuousClock.Instant) -> [String] {
        guard stage.kind == "extract" else { return [] }
        var parts: [String] = []
        if let total = stage.totalPages {
            parts.append("page \(grouped(stage.pages)) of \(grouped(total))")
        } else {
            parts.append("\(grouped(stage.pages)) page\(stage.pages == 1 ? "" : "s")")
        }
        if let left = stage.secondsLeft(at: now) { parts.append("about \(duration(left)) left") }
        if stage.retries > 0 { parts.append("\(stage.retries) retr\(stage.retries == 1 ? "y" : "ies")") }
        return parts
    }

    /// 1234567 -> "1,234,567".
    static func grouped(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + out
    }

    /// "16 s", "4 min 05 s", "2 h 10 min".
    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s) s" }
        if s < 3600 { return "\(s / 60) min \(String(format: "%02d", s % 60)) s" }
        return "\(s / 3600) h \(String(format: "%02d", s / 60 % 60)) min"
    }
}
