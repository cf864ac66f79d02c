// One AmeriCommerce list result (`{<resource>: [...], total_count, next_page}`) decoded into
// records. The live connector and `files` replay both read pages here.

enum AmeriCommercePage {
    enum Shape: Error {
        /// Not a JSON object.
        case notAnObject
        /// A list result without the resource's list.
        case noList
    }

    /// The page's records, total and next link. With `single`, an object that is not a list
    /// result (no `total_count`) is one record: a recorded single-resource answer.
    static func decode(_ value: Value, resource: String, single: Bool) -> Result<JSONPage, Shape> {
        guard case .object(let list) = value else { return .failure(.notAnObject) }
        var total: Int? = nil, next: String? = nil
        if case .integer(let n)? = list["total_count"] { total = Int(n) }
        if case .string(let link)? = list["next_page"] { next = link }
        if case .array(let items)? = list[resource] {
            return .success(JSONPage(records: JSONPage.records(items), total: total, next: next))
        }
        if single, list["total_count"] == nil { return .success(JSONPage(records: [list])) }
        return .failure(.noList)
    }
}
