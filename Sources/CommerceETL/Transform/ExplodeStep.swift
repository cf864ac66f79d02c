// `explode`: one record per element of an array field, e.g. one record per order line.
//
//   - explode: { path: Items, parent_as: order }
//
// Each element's fields become the new record's fields (an element that is not an object
// becomes `value`). With `parent_as`, the parent's other fields are kept under that name.
// A record whose array is empty, null or absent produces no records.

public struct ExplodeStep: StepKind {
    /// Dotted path of the array to explode.
    public var path: FieldPath
    /// Field name under which the parent record (without the exploded array) is kept.
    public var parentAs: String?
    /// Field name for the element's position in the array (0-based), if wanted.
    public var indexAs: String?

    public static let name = "explode"
    enum Keys {
        static let path = Key.string("path", required: true, doc: "the dotted path of the array; one record per element (an object element's fields become the record, any other element becomes `value`); empty, null or absent arrays give no records", example: "Items")
        static let parentAs = Key.string("parent_as", doc: "keep the parent record (without the array) under this name", example: "order")
        static let indexAs = Key.string("index_as", doc: "add the element's 0-based position under this name", example: "line_no")
    }
    public static let value = OptionSpec(name, .options([Keys.path.spec, Keys.parentAs.spec, Keys.indexAs.spec]),
                                         doc: "one record per element of an array", example: "{ path: Items, parent_as: order, index_as: line_no }")

    public static func parse(_ value: ConfigValue) -> (any TransformStep)? {
        guard let config = value.map() else { return nil }
        let pathText = config.read(Keys.path)
        let parentAs = config.read(Keys.parentAs)
        let indexAs = config.read(Keys.indexAs)
        config.finish()
        guard let pathText else { return nil }
        guard let path = FieldPath(pathText) else {
            config.value(Keys.path.spec)?.error("'\(config.path).path' is not a valid field path: '\(pathText)'")
            return nil
        }
        return ExplodeStep(path: path, parentAs: parentAs, indexAs: indexAs)
    }

    public func output(for input: RecordKind) throws -> RecordKind? {
        var lines = input
        lines.exploded = true
        return lines
    }

    public func apply(_ records: [Record]) throws -> [Record] {
        var out: [Record] = []
        out.reserveCapacity(records.count * 2)
        var parents = DerivedShape(), rows = DerivedShape()
        let topLevel = path.components.count == 1 && FieldPath.Selector(path.components[0]) == nil
        for record in records {
            let elements: [Value]
            switch record.value(at: path) {
            case .array(let items)?: elements = items
            case nil, .null?: continue
            case let other?:
                throw ETLError("'\(path)' is \(other.kindName), not an array")
            }
            var parent: Record? = nil
            if parentAs != nil {
                if topLevel {
                    parent = parents.derive(from: record, removing: path.components[0])
                } else {
                    var p = record
                    p.removeValue(at: path)
                    parent = p
                }
            }
            let added = [indexAs, parentAs].compactMap { $0 }
            for (index, element) in elements.enumerated() {
                guard case .object(let fields) = element else {
                    var row: Record = ["value": element]
                    if let indexAs { row[indexAs] = .integer(Int64(index)) }
                    if let parentAs, let parent { row[parentAs] = .object(parent) }
                    out.append(row)
                    continue
                }
                var row = added.isEmpty ? fields : rows.derive(from: fields, adding: added)
                if indexAs != nil { rows.setAdded(0, to: .integer(Int64(index)), in: &row) }
                if parentAs != nil, let parent { rows.setAdded(indexAs == nil ? 0 : 1, to: .object(parent), in: &row) }
                out.append(row)
            }
        }
        return out
    }
}
