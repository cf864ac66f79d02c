// `rename`: renames top-level fields in place, keeping their position.
//
//   - rename: { OrderID: order_id, DateCreated: created_at }

import OrderedCollections

public struct RenameStep: StepKind {
    /// Old name to new name.
    public var names: [String: String]

    public static let name = "rename"
    public static let value = OptionSpec(name, .stringMap, doc: "renames top-level fields in place (old name: new name)", example: "{ OrderID: order_id }")

    public static func parse(_ value: ConfigValue) -> (any TransformStep)? {
        guard let config = value.map() else { return nil }
        var names: [String: String] = [:]
        var ok = true
        for entry in config.entries() {
            guard let to = entry.value.string() else { ok = false; continue }
            names[entry.key] = to
        }
        return ok ? RenameStep(names: names) : nil
    }

    /// Field names change: what follows is no longer known.
    public func output(for input: RecordKind) throws -> RecordKind? { nil }

    public func apply(_ records: [Record]) throws -> [Record] {
        records.map { record in
            guard record.fields.keys.contains(where: { names[$0] != nil }) else { return record }
            var out = OrderedDictionary<String, Value>()
            out.reserveCapacity(record.fields.count)
            for (key, value) in record.fields { out[names[key] ?? key] = value }
            return Record(out)
        }
    }
}
