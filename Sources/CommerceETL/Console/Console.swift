// Where a command's messages go: standard error, one line per message, as text for people or
// as JSON objects for log shippers (`--log-format json`), with secrets taken out. On a terminal
// it also keeps a few live lines at the bottom (the run's progress), which it clears before a
// message and draws again after it, so messages and progress never overwrite each other.
import Foundation
import Logging
import Synchronization

public enum LogFormat: String, CaseIterable, Sendable {
    case text, json
}

public enum Verbosity: Sendable {
    /// Errors only.
    case quiet
    /// Notes, warnings, errors and the summary.
    case normal
    /// Also progress lines and each retry.
    case verbose

    /// The least severe level shown.
    public var level: Logger.Level {
        switch self {
        case .quiet: .error
        case .normal: .notice
        case .verbose: .info
        }
    }
}

public final class Console: Sendable {
    public let format: LogFormat
    public let verbosity: Verbosity
    /// Standard error is a terminal: progress is redrawn in place there.
    public let isTerminal: Bool
    private let live = Mutex<Live>(Live())

    private struct Live {
        var lines: [String] = []
        /// Lines on the screen now (the cursor is at the end of the last).
        var drawn = 0
    }

    public init(format: LogFormat = .text, verbosity: Verbosity = .normal, isTerminal: Bool = isatty(2) != 0) {
        self.format = format
        self.verbosity = verbosity
        self.isTerminal = isTerminal
    }

    /// A message on standard error, if `level` is shown at this verbosity. A `plain` message is
    /// already worded as a line ("FILE:LINE:COL: error: ...", "error: ..."): as text it is
    /// printed as it is.
    public func log(_ level: Logger.Level, _ message: String, stage: String? = nil, fields: Logger.Metadata = [:], plain: Bool = false) {
        guard level >= verbosity.level else { return }
        let line: String
        if plain, format == .text {
            line = Secrets.redact(message)
        } else {
            let bare = plain && message.hasPrefix("error: ") ? String(message.dropFirst(7)) : message
            line = Secrets.redact(render(level, bare, stage: stage, fields: fields))
        }
        live.withLock { live in
            var out = erase(&live)
            out += line + "\n"
            out += redraw(&live)
            Self.write(out, to: 2)
        }
    }

    /// What a command prints as its result (a summary, a plan): standard output. In JSON
    /// format, one JSON object holding `text` and `fields`.
    public func output(_ text: String, fields: Logger.Metadata = [:]) {
        let shown: String
        switch format {
        case .text: shown = text
        case .json: shown = render(.notice, text, stage: nil, fields: fields)
        }
        live.withLock { live in
            Self.write(erase(&live), to: 2)
            Self.write(Secrets.redact(shown) + "\n", to: 1)
            Self.write(redraw(&live), to: 2)
        }
    }

    /// Replaces the live lines (terminal only), each cut to the terminal's width.
    public func draw(_ lines: [String]) {
        guard isTerminal else { return }
        let width = max(20, Self.terminalWidth() - 1)
        let cut = lines.map { Secrets.redact($0) }.map { $0.count > width ? String($0.prefix(width - 1)) + "…" : $0 }
        live.withLock { live in
            var out = erase(&live)
            live.lines = cut
            out += redraw(&live)
            Self.write(out, to: 2)
        }
    }

    /// Removes the live lines for good.
    public func clearLive() {
        live.withLock { live in
            let out = erase(&live)
            live.lines = []
            Self.write(out, to: 2)
        }
    }

    private func erase(_ live: inout Live) -> String {
        guard live.drawn > 0 else { return "" }
        let up = live.drawn > 1 ? "\u{1B}[\(live.drawn - 1)A" : ""
        live.drawn = 0
        return "\r" + up + "\u{1B}[J"
    }

    private func redraw(_ live: inout Live) -> String {
        guard isTerminal, !live.lines.isEmpty else { return "" }
        live.drawn = live.lines.count
        return live.lines.joined(separator: "\n")
    }

    /// One message as a line of text or a JSON object.
    public func render(_ level: Logger.Level, _ message: String, stage: String?, fields: Logger.Metadata) -> String {
        switch format {
        case .text:
            let name: String = switch level {
            case .critical, .error: "error"
            case .warning: "warning"
            case .notice: "note"
            case .info: "info"
            case .debug, .trace: "debug"
            }
            let already = message.hasPrefix("\(name): ")
            let where_ = stage.map { message.hasPrefix("stage '") ? "" : "stage '\($0)': " } ?? ""
            return (already ? "" : "\(name): ") + where_ + message
        case .json:
            var record: Record = ["time": .string(Self.now()), "level": .string(level == .critical ? "error" : level.rawValue)]
            if let stage { record["stage"] = .string(stage) }
            record["message"] = .string(message)
            if !fields.isEmpty { record["fields"] = Self.value(.dictionary(fields)) }
            var bytes: [UInt8] = []
            JSONWriter.write(record, into: &bytes)
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    static func value(_ metadata: Logger.MetadataValue) -> Value {
        switch metadata {
        case .string(let s): .string(s)
        case .stringConvertible(let s): .string(s.description)
        case .array(let items): .array(items.map(value))
        case .dictionary(let d):
            .object(Record(.init(uniqueKeysWithValues: d.sorted { $0.key < $1.key }.map { ($0.key, value($0.value)) })))
        }
    }

    /// UTC, to the millisecond: `2026-12-02T11:37:05.123Z`.
    static func now() -> String {
        let t = Date().timeIntervalSince1970
        let seconds = Int64(t.rounded(.down))
        let text = Timestamp(epochSeconds: seconds).description.dropLast(6)
        return text + String(format: ".%03dZ", Int((t - Double(seconds)) * 1000) % 1000)
    }

    /// The width of the terminal on `fd`; 100 when it is not a terminal.
    public static func terminalWidth(_ fd: Int32 = 2) -> Int {
        var size = winsize()
        guard ioctl(fd, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 100 }
        return Int(size.ws_col)
    }

    private static func write(_ text: String, to fd: Int32) {
        guard !text.isEmpty else { return }
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = Foundation.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 { if errno == EINTR { continue }; return }
                offset += n
            }
        }
    }
}

/// swift-log's handler for the library's messages: hands each to the console, with its `stage`
/// metadata as the stage and the rest as fields.
public struct ConsoleLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    private let console: @Sendable () -> Console

    /// `console` is asked at each message, so a command can set the format after logging is bootstrapped.
    public init(console: @escaping @Sendable () -> Console) { self.console = console }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = self.metadata
        if let extra = event.metadata { fields.merge(extra) { _, new in new } }
        var stage: String? = nil
        if case .string(let s)? = fields.removeValue(forKey: "stage") { stage = s }
        console().log(event.level, event.message.description, stage: stage, fields: fields)
    }
}
