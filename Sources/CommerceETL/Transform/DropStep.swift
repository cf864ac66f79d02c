// `drop`: removes fields by dotted path.
//
//   - drop: [Transactions, order.Addresses]

public struct DropStep: StepKind {
    /// Paths of the fields to remove; absent ones are ignored.
    public var paths: [FieldPath]

    public static let name = "drop"
    public static let value = OptionSpec(name, .strings, doc: "removes fields by dotted path", example: "[Transactions, order.Addresses]")

    public static func parse(_ value: ConfigValue) -> (any TransformStep)? {
        guard let texts = value.strings() else { return nil }
        var paths: [FieldPath] = []
        for text in texts {
            guard let path = FieldPath(text) else {
                value.error("'\(value.path)' holds an invalid field path: '\(text)'")
                return nil
            }
            paths.append(path)
        }
        return DropStep(paths: paths)
    }

    public func apply(_ records: [Record]) throws -> [Record] {
        records.map { record in
            var out = record
            for path in paths { out.removeValue(at: path) }
            return out
        }
    }
}
