// Located problems with a pipeline file, printed as `FILE:LINE:COL: error: message`.

public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

public struct Diagnostic: Sendable, Hashable, CustomStringConvertible {
    public enum Severity: String, Sendable { case error, warning }
    public var severity: Severity
    public var location: SourceLocation
    public var message: String

    public var description: String { "\(location): \(severity.rawValue): \(message)" }
}

/// Collects every problem found while reading a pipeline, so one `validate` reports them all.
public final class Diagnostics: @unchecked Sendable {
    // Only touched by the single thread that loads a pipeline file.
    public private(set) var items: [Diagnostic] = []
    private var seen: Set<Diagnostic> = []
    /// Problems beyond `limit`, counted but not kept: a file of a million bad keys costs no more
    /// memory or time than its first few hundred.
    public private(set) var omitted = 0
    public static let limit = 200

    public init() {}

    public func error(_ message: String, at location: SourceLocation) {
        add(Diagnostic(severity: .error, location: location, message: message))
    }

    public func warning(_ message: String, at location: SourceLocation) {
        add(Diagnostic(severity: .warning, location: location, message: message))
    }

    /// Keeps one copy of a problem that two readers of the same value both found.
    private func add(_ diagnostic: Diagnostic) {
        if diagnostic.severity == .error { hasErrors = true }
        guard items.count < Self.limit else {
            omitted += 1
            return
        }
        if seen.insert(diagnostic).inserted { items.append(diagnostic) }
    }

    public var errors: [Diagnostic] { items.filter { $0.severity == .error } }
    public var warnings: [Diagnostic] { items.filter { $0.severity == .warning } }
    public private(set) var hasErrors = false
    /// No more problems will be kept, only counted: callers can skip costly messages.
    public var isFull: Bool { items.count >= Self.limit }

    public var sorted: [Diagnostic] {
        items.sorted { ($0.location.line, $0.location.column) < ($1.location.line, $1.location.column) }
    }
}

/// The closest candidate by edit distance, when it is close enough to be a likely typo. Words
/// longer than any key are no typo of one and are not compared (which keeps huge keys cheap).
func nearest(_ word: String, in candidates: [String]) -> String? {
    guard word.utf8.count <= 64 else { return nil }
    let w = word.lowercased()
    let scored = candidates.map { ($0, editDistance(w, $0.lowercased())) }
    if let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= max(2, word.count / 3) { return best.0 }
    // A shortened or lengthened key ("parent" for "parent_as").
    return w.count >= 3 ? candidates.first { $0.lowercased().hasPrefix(w) || w.hasPrefix($0.lowercased()) } : nil
}

func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
