// One Aurora v2 answer (the common envelope: requestId, payload.items, payload.paging,
// notices) decoded into records. The live connector and `files` replay both read pages here.

enum AuroraRESTPage {
    enum Shape: Error {
        /// No `payload` object.
        case noPayload
        /// A payload without items (and, where a single item is accepted, without one).
        case noItems
    }

    /// The page's records, total and next link, and its notices. With `single`, a payload that
    /// holds one item under its resource name (`payload.order`, as a single GET answers) gives
    /// that item: recorded responses may be of either kind.
    static func decode(_ value: Value, single: Bool) -> Result<(page: JSONPage, notices: [String]), Shape> {
        guard case .object(let envelope) = value, case .object(let payload)? = envelope["payload"] else { return .failure(.noPayload) }
        var notices: [String] = []
        if case .array(let list)? = envelope["notices"] {
            for case .string(let notice) in list { notices.append(notice) }
        }
        var total: Int? = nil, next: String? = nil
        if case .object(let paging)? = payload["paging"] {
            if case .integer(let n)? = paging["totalItems"] { total = Int(n) }
            if case .string(let link)? = paging["next"] { next = link }
        }
        if case .array(let items)? = payload["items"] {
            return .success((JSONPage(records: JSONPage.records(items), total: total, next: next), notices))
        }
        if single {
            for (_, v) in payload.fields {
                if case .array(let items) = v { return .success((JSONPage(records: JSONPage.records(items)), notices)) }
                if case .object(let r) = v { return .success((JSONPage(records: [r]), notices)) }
            }
        }
        return .failure(.noItems)
    }
}
