// Records for people to read in a terminal (`preview`): a table that fits the width, and the
// field paths the records hold with their types and an example, for writing `select:`,
// `filter:` or `columns:` without unpacking an export.
import Foundation
import OrderedCollections

public enum RecordTable {
    /// The widest a cell is shown; longer values end in "…".
    static let cellWidth = 28

    /// A column per top-level field (in the order first seen), a row per record, at most `width`
    /// characters wide: columns that do not fit are left out and counted on the last line.
    public static func render(_ records: [Record], width: Int) -> String {
        var columns: OrderedSet<String> = []
        for record in records { for key in record.fields.keys { columns.append(key) } }
        guard !columns.isEmpty else { return "(no records)" }
        let cells = records.map { record in columns.map { cut(text(record.fields[$0]), to: cellWidth) } }
        var shown: [Int] = []
        var used = 0
        for (i, name) in columns.enumerated() {
            let w = max(cut(name, to: cellWidth).count, cells.map { $0[i].count }.max() ?? 0)
            if used + w + (shown.isEmpty ? 0 : 2) > width, !shown.isEmpty { break }
            used += w + (shown.isEmpty ? 0 : 2)
            shown.append(i)
        }
        let widths = shown.map { i in max(cut(columns[i], to: cellWidth).count, cells.map { $0[i].count }.max() ?? 0) }
        func line(_ row: [String]) -> String {
            zip(shown.indices, shown).map { n, i in
                n == shown.count - 1 ? row[i] : row[i].padding(toLength: widths[n], withPad: " ", startingAt: 0)
            }.joined(separator: "  ").trimmingTrailingSpaces()
        }
        var lines = [line(columns.map { cut($0, to: cellWidth) })]
        lines += cells.map(line)
        if shown.count < columns.count {
            let rest = columns.count - shown.count
            lines.append("(\(rest) more column\(rest == 1 ? "" : "s") not shown: \(columns.elements[shown.count...].prefix(6).joined(separator: ", "))\(rest > 6 ? ", ..." : ""); --format json shows every field, --fields lists them)")
        }
        return lines.joined(separator: "\n")
    }

    /// Every field path in `records` (nested fields as `Parent.Child`, list elements as
    /// `List.0.Field`) with the kinds of value seen and the first non-null example.
    public static func fields(_ records: [Record]) -> String {
        var seen: OrderedDictionary<String, (kinds: OrderedSet<String>, example: String?)> = [:]
        func walk(_ value: Value, _ path: String) {
            var entry = seen[path] ?? ([], nil)
            entry.kinds.append(value.kindName)
            if entry.example == nil, value != .null {
                switch value {
                case .array(let items): entry.example = "\(items.count) item\(items.count == 1 ? "" : "s")"
                case .object(let r): entry.example = "\(r.fields.count) field\(r.fields.count == 1 ? "" : "s")"
                default: entry.example = cut(text(value), to: 40)
                }
            }
            seen[path] = entry
            switch value {
            case .object(let r): for (k, v) in r.fields { walk(v, path + "." + k) }
            case .array(let items): if let first = items.first { walk(first, path + ".0") }
            default: break
            }
        }
        for record in records { for (k, v) in record.fields { walk(v, k) } }
        guard !seen.isEmpty else { return "(no records)" }
        var rows = [["field", "type", "example"]]
        for (path, entry) in seen { rows.append([path, entry.kinds.joined(separator: "|"), entry.example ?? ""]) }
        return Summary.table(rows).joined(separator: "\n")
    }

    /// A value as one line: its flat text (nested values as JSON), line breaks shown as `\n`.
    static func text(_ value: Value?) -> String {
        guard let value, value != .null else { return "" }
        var bytes: [UInt8] = []
        value.writeFlat(into: &bytes)
        return String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "\r", with: "\\r")
            .replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\t", with: "\\t")
    }

    static func cut(_ text: String, to width: Int) -> String {
        text.count > width ? String(text.prefix(width - 1)) + "…" : text
    }
}
