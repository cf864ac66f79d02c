// A cheap scan of a pipeline file's text, run before the YAML composer, for two things that
// would exhaust it: nesting deep enough to overflow its recursive descent (`[[[[...` a hundred
// thousand times, or `- - - - ...`), and keys that are not plain strings (`? [...]`, `[a]: x`,
// `*alias : x`). The composer hashes every key to find duplicates, so a key that is an alias of
// a "billion laughs" structure would take forever; pipeline keys are plain strings anyway. The
// scan follows quotes and comments closely enough for real files; anything it misjudges is at
// worst a file shaped unlike any pipeline.

enum YAMLDepth {
    /// Flow collections (`[`, `{`) open at once.
    static let maxFlowDepth = 64
    /// Leading spaces and `- ` markers on one line.
    static let maxIndent = 1000

    static func check(_ text: String, file: String) -> Diagnostic? {
        let b = Array(text.utf8)
        var depth = 0, line = 1, lineStart = 0, indent = 0
        var quote: UInt8 = 0, escaped = false, comment = false, atLineStart = true
        // The last byte that was not a space on this line (10 at its start).
        var significant: UInt8 = 10
        func failure(_ message: String, at i: Int) -> Diagnostic {
            Diagnostic(severity: .error, location: SourceLocation(file: file, line: line, column: i - lineStart + 1), message: message)
        }
        func isBlank(_ i: Int) -> Bool { i >= b.count || b[i] == 32 || b[i] == 9 || b[i] == 10 || b[i] == 13 }
        /// A `:` that ends a key: after optional spaces, followed by a blank.
        func keyColon(after i: Int) -> Bool {
            var j = i
            while j < b.count, b[j] == 32 || b[j] == 9 { j += 1 }
            return j < b.count && b[j] == 58 && isBlank(j + 1)
        }
        let notPlainKey = "keys must be plain strings (this looks like a list, mapping or alias used as a key)"
        var i = 0
        while i < b.count {
            let c = b[i]
            defer { i += 1 }
            if c == 10 {
                line += 1
                lineStart = i + 1
                indent = 0
                comment = false
                atLineStart = true
                significant = 10
                if quote == 0 { continue }
            }
            if comment { continue }
            if quote != 0 {
                if escaped { escaped = false } else if quote == 34, c == 92 { escaped = true } else if c == quote { quote = 0 }
                continue
            }
            let previous: UInt8 = i > 0 ? b[i - 1] : 10
            if atLineStart {
                if c == 32 || c == 9 || (c == 45 && isBlank(i + 1)) {
                    indent += 1
                    if indent > maxIndent {
                        return failure("the file is nested more than \(maxIndent) columns deep; pipelines need a few levels", at: i)
                    }
                    continue
                }
                atLineStart = false
            }
            let afterBlank = previous == 32 || previous == 9 || previous == 10
            defer { if c != 32, c != 9 { significant = c } }
            switch c {
            case 35 where afterBlank: comment = true
            case 34, 39:
                if afterBlank || previous == 91 || previous == 123 || previous == 44 || previous == 58 { quote = c }
            case 63 where isBlank(i + 1) && (significant == 10 || significant == 45 || significant == 123 || significant == 44 || significant == 91):
                return failure(notPlainKey, at: i)
            case 42 where afterBlank || previous == 91 || previous == 123 || previous == 44:
                // An alias: `*name` followed by `:` is an alias used as a key.
                var j = i + 1
                while j < b.count, !isBlank(j), b[j] != 44, b[j] != 93, b[j] != 125, b[j] != 58 { j += 1 }
                if keyColon(after: j) { return failure(notPlainKey, at: i) }
            case 91, 123:
                depth += 1
                if depth > maxFlowDepth {
                    return failure("lists and mappings are nested more than \(maxFlowDepth) levels deep; pipelines need a few levels", at: i)
                }
            case 93, 125:
                depth = max(0, depth - 1)
                if keyColon(after: i + 1) { return failure(notPlainKey, at: i) }
            default: break
            }
        }
        return nil
    }
}
