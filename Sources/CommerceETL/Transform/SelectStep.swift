// `select`: builds each record anew from named paths, in the order written.
//
//   - select:
//       order_id: order.OrderID
//       sku: VariationReference
//
// A path that is absent yields null, so every output record has the same fields.

import OrderedCollections

public struct SelectStep: StepKind {
    /// Output field name and the dotted input path it takes its value from.
    public var fields: [(name: String, path: FieldPath)]

    public static let name = "select"
    public static let value = OptionSpec(name, .stringMap, doc: "builds each record from dotted paths, in the order written (new name: path); an absent path gives null; numeric parts index arrays (`Items.0.Price`) and `[FIELD=VALUE]` picks the element whose field has that value (`ProductPrices[ISO=USD].Price`)",
                                         example: "{ order_id: order.OrderID, sku: VariationReference }")

    public static func parse(_ value: ConfigValue) -> (any TransformStep)? {
        guard let config = value.map() else { return nil }
        var fields: [(name: String, path: FieldPath)] = []
        var ok = true
        for entry in config.entries() {
            guard let text = entry.value.string() else { ok = false; continue }
            guard let path = FieldPath(text) else {
                entry.value.error("'\(entry.value.path)' is not a valid field path: '\(text)'")
                ok = false
                continue
            }
            fields.append((entry.key, path))
        }
        if config.entries().isEmpty {
            value.error("'\(value.path)' selects no fields")
            return nil
        }
        return ok ? SelectStep(fields: fields) : nil
    }

    /// Field names change: what follows is no longer known.
    public func output(for input: RecordKind) throws -> RecordKind? { nil }

    public func apply(_ records: [Record]) throws -> [Record] {
        // Every output record has the same names: they are hashed once, into a template whose
        // keys each record shares, and only the values are filled in.
        var template = OrderedDictionary<String, Value>(minimumCapacity: fields.count)
        for field in fields { template[field.name] = .null }
        guard template.count == fields.count else {
            return records.map { record in
                var out = Record()
                for field in fields { out[field.name] = record.value(at: field.path) ?? .null }
                return out
            }
        }
        var hints = fields.map { PathHints($0.path) }
        return records.map { record in
            var out = template
            out.values.withUnsafeMutableBufferPointer { values in
                for (i, field) in fields.enumerated() { values[i] = record.value(at: field.path, hints: &hints[i]) ?? .null }
            }
            return Record(out)
        }
    }
}
