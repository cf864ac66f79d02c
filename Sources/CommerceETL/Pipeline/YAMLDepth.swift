// A cheap scan of a pipeline file's text for nesting deep enough to exhaust the stack of the
// recursive YAML composer (`[[[[...` a hundred thousand times, or `- - - - ...`), run before it.
// It follows quotes and comments closely enough for real files; anything it misjudges is at
// worst a file nested far deeper than any pipeline needs.

enum YAMLDepth {
    /// Flow collections (`[`, `{`) open at once.
    static let maxFlowDepth = 64
    /// Leading spaces and `- ` markers on one line.
    static let maxIndent = 1000

    static func check(_ text: String, file: String) -> Diagnostic? {
        var depth = 0, line = 1, column = 0, indent = 0
        var quote: UInt8 = 0, escaped = false, comment = false, atLineStart = true
        var previous: UInt8 = 10
        func failure(_ message: String) -> Diagnostic {
            Diagnostic(severity: .error, location: SourceLocation(file: file, line: line, column: max(1, column)), message: message)
        }
        for b in text.utf8 {
            column += 1
            defer { previous = b }
            if b == 10 {
                line += 1
                column = 0
                indent = 0
                comment = false
                atLineStart = true
                if quote == 0 { continue }
            }
            if comment { continue }
            if quote != 0 {
                if escaped { escaped = false } else if quote == 34, b == 92 { escaped = true } else if b == quote { quote = 0 }
                continue
            }
            if atLineStart {
                if b == 32 || b == 9 || (b == 45 && (previous == 32 || previous == 10 || previous == 9)) {
                    indent += 1
                    if indent > maxIndent {
                        return failure("the file is nested more than \(maxIndent) columns deep; pipelines need a few levels")
                    }
                    continue
                }
                atLineStart = false
            }
            let afterSpace = previous == 32 || previous == 9 || previous == 10
            switch b {
            case 35 where afterSpace: comment = true
            case 34, 39:
                if afterSpace || previous == 91 || previous == 123 || previous == 44 || previous == 58 { quote = b }
            case 91, 123:
                depth += 1
                if depth > maxFlowDepth {
                    return failure("lists and mappings are nested more than \(maxFlowDepth) levels deep; pipelines need a few levels")
                }
            case 93, 125:
                depth = max(0, depth - 1)
            default: break
            }
        }
        return nil
    }
}
