// How `child_tables: true` names the tables arrays become, for every database load (README:
// "Child tables"): `<parent table>__<field in snake case>`, one row per element with its
// `_position`; an element that is not an object is stored as `value`.
enum ChildTables {
    /// The table an array field of `parent`'s rows becomes.
    static func name(parent: String, field: String) -> String { parent + "__" + snakeCase(field) }

    /// The column of a child row that holds an element that is not an object.
    static let valueColumn = "value"
    /// The column of a child row that holds its place in the array (0-based).
    static let positionColumn = "_position"

    /// A child row's own fields: the element when it is an object, else `{ value: element }`.
    static func row(_ element: Value) -> Record {
        if case .object(let record) = element { return record }
        return [valueColumn: element]
    }

    static func snakeCase(_ name: String) -> String {
        var out = ""
        var previousLower = false
        for ch in name {
            if ch.isUppercase, previousLower { out += "_" }
            out += ch.lowercased()
            previousLower = ch.isLowercase || ch.isNumber
        }
        return out
    }
}
