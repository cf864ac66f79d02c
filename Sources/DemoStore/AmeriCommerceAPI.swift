// The demo store's AmeriCommerce REST API (americommerce-rest-common-usage.txt):
// `GET /api/v1/{products|orders}` with page/count/sort/fields/expand and field filters,
// `/{id}`, `/{id}/filled`, `/{id}/{nested}`, `/select_many?ids=`, the `X-AC-Auth-Token` header,
// `{status_code, message, details}` errors and a rate limit answered with 429 and Retry-After.
// Field names are AmeriCommerce's snake_case; the data is the store's, as the XML API serves it.
import CommerceETL
import Foundation
import OrderedCollections
import Synchronization

final class AmeriCommerceAPI: Sendable {
    let state: StoreState
    let baseURL: @Sendable () -> String
    private let window = Mutex<(second: Int64, count: Int)>((0, 0))

    init(state: StoreState, baseURL: @escaping @Sendable () -> String) {
        self.state = state
        self.baseURL = baseURL
    }

    static let nested = ["products": ["variants", "categories"], "orders": ["items", "addresses"]]
    static let listParameters: Set = ["page", "count", "sort", "fields", "expand"]

    func respond(_ request: DemoRequest) -> DemoResponse {
        if let limit = state.config.requestsPerSecond {
            let second = Int64(Date().timeIntervalSince1970)
            let allowed = window.withLock { w in
                if w.second != second { w = (second, 0) }
                w.count += 1
                return w.count <= limit
            }
            if !allowed {
                state.countRateLimited()
                var r = error(429, "Too Many Requests", "rate limit of \(limit) requests per second exceeded")
                r.headers.append(("Retry-After", "1"))
                return r
            }
        }
        guard let token = request.headers["x-ac-auth-token"], !token.isEmpty,
              state.config.token == nil || state.config.token == token else {
            return error(401, "Unauthorized", "a valid X-AC-Auth-Token header is required")
        }
        guard request.method == "GET" else { return error(405, "Method Not Allowed", "the demo store serves GET requests only") }
        guard request.path.count >= 3, request.path[0] == "api", request.path[1] == "v1" else { return error(404, "Not Found", "no such resource") }
        let resource = String(request.path[2])
        guard let nestedNames = Self.nested[resource] else {
            return error(404, "Not Found", "the demo store serves products and orders")
        }
        let rest = request.path.dropFirst(3)
        let total = resource == "orders" ? state.config.orders : state.config.products
        let firstID = resource == "orders" ? OrderGenerator.firstOrderID : ProductGenerator.firstProductID
        func item(_ index: Int, expand: Set<String>) -> Record {
            resource == "orders" ? order(state.orderRecord(index), expand: expand) : product(state.productRecord(index), expand: expand)
        }
        let expand = Set((request.query("expand") ?? "").split(separator: ",").map(String.init))
        if let unknown = expand.first(where: { !nestedNames.contains($0) }) {
            return error(400, "Bad Request", "'\(unknown)' is not a nested resource of \(resource); nested resources are \(nestedNames.joined(separator: ", "))")
        }
        let fields = request.query("fields").map { $0.split(separator: ",").map(String.init) }

        switch rest.first {
        case nil:
            return list(request, resource: resource, total: total, firstID: firstID, expand: expand, fields: fields, item: item)
        case "select_many"?:
            guard let ids = request.query("ids"), !ids.isEmpty else {
                return error(400, "Bad Request", "This method requires one or more resource IDs to be specified")
            }
            let wanted = ids.split(separator: ",").compactMap { Int($0) }.map { $0 - firstID }.filter { (0..<total).contains($0) }
            let records = wanted.map { project(item($0, expand: expand.union(neededNested(fields, nestedNames))), fields) }
            return .json(200, .object(["total_count": .integer(Int64(records.count)), "next_page": .null, "previous_page": .null,
                                       resource: .array(records.map(Value.object))]))
        case let idText?:
            guard let id = Int(idText), (0..<total).contains(id - firstID) else { return error(404, "Not Found", "no \(resource.dropLast()) \(idText)") }
            let index = id - firstID
            switch rest.dropFirst().first {
            case nil: return .json(200, .object(project(item(index, expand: expand.union(neededNested(fields, nestedNames))), fields)))
            case "filled"?: return .json(200, .object(project(item(index, expand: Set(nestedNames)), fields)))
            case let nested? where nestedNames.contains(String(nested)):
                let full = item(index, expand: [String(nested)])
                let entries = full.array(String(nested))
                return .json(200, .object(["total_count": .integer(Int64(entries.count)), "next_page": .null, "previous_page": .null,
                                           String(nested): .array(entries)]))
            default: return error(404, "Not Found", "no such nested resource")
            }
        }
    }

    private func neededNested(_ fields: [String]?, _ nested: [String]) -> Set<String> {
        Set((fields ?? []).filter { nested.contains($0) })
    }

    /// Only the listed fields, in the order listed.
    private func project(_ record: Record, _ fields: [String]?) -> Record {
        guard let fields else { return record }
        var out = Record()
        for f in fields { if let v = record[f] { out[f] = v } }
        return out
    }

    private func list(_ request: DemoRequest, resource: String, total: Int, firstID: Int, expand: Set<String>, fields: [String]?,
                      item: (Int, Set<String>) -> Record) -> DemoResponse {
        let page = Int(request.query("page") ?? "1") ?? 0
        let count = Int(request.query("count") ?? "100") ?? 0
        guard page >= 1 else { return error(400, "Bad Request", "page must be a whole number of 1 or more") }
        guard (1...500).contains(count) else { return error(400, "Bad Request", "count must be between 1 and 500") }
        // Field filters: `?field=value` or `?field=op:value` (eq, not, gt, gte, lt, lte, like) on top-level fields.
        let sample = total > 0 ? item(0, []) : Record()
        var filters: [(String, String, String)] = []
        for (name, value) in request.query where !Self.listParameters.contains(name) {
            guard sample[name] != nil, !(Self.nested[resource] ?? []).contains(name) else {
                return error(400, "Bad Request", "'\(name)' is not a parameter or a field of \(resource)")
            }
            let parts = value.split(separator: ":", maxSplits: 1)
            let ops = ["eq", "not", "gt", "gte", "lt", "lte", "like"]
            if parts.count == 2, ops.contains(String(parts[0])) { filters.append((name, String(parts[0]), String(parts[1]))) } else { filters.append((name, "eq", value)) }
        }
        var indices = Array(0..<total)
        if !filters.isEmpty {
            indices = indices.filter { i in
                let r = item(i, [])
                return filters.allSatisfy { Self.matches(r[$0.0] ?? .null, $0.1, $0.2) }
            }
        }
        if let sort = request.query("sort"), !sort.isEmpty {
            let keys = sort.split(separator: ",").map { $0.hasPrefix("-") ? (String($0.dropFirst()), false) : (String($0), true) }
            if let bad = keys.first(where: { sample[$0.0] == nil }) {
                return error(400, "Bad Request", "cannot sort by '\(bad.0)': no such field")
            }
            if keys.map(\.0) != ["id"] || !keys[0].1 {
                let rows = indices.map { ($0, item($0, [])) }
                indices = rows.sorted { a, b in
                    for (key, ascending) in keys {
                        let x = a.1[key]?.flatText ?? "", y = b.1[key]?.flatText ?? ""
                        let cx = Self.compare(x, y)
                        if cx != 0 { return ascending ? cx < 0 : cx > 0 }
                    }
                    return a.0 < b.0
                }.map(\.0)
            }
        }
        let start = (page - 1) * count
        guard start < indices.count || (page == 1 && indices.isEmpty) else {
            return error(404, "Not Found", "page \(page) is out of bounds")
        }
        let end = min(indices.count, start + count)
        let records = indices[start..<end].map { project(item($0, expand.union(neededNested(fields, Self.nested[resource] ?? []))), fields) }
        func link(_ p: Int) -> Value {
            var query = request.query.filter { $0.0 != "page" }.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0.1)" }
            query.insert("page=\(p)", at: 0)
            return .string("\(baseURL())/api/v1/\(resource)?\(query.joined(separator: "&"))")
        }
        return .json(200, .object([
            "total_count": .integer(Int64(indices.count)),
            "next_page": end < indices.count ? link(page + 1) : .null,
            "previous_page": page > 1 ? link(page - 1) : .null,
            resource: .array(records.map(Value.object)),
        ]))
    }

    /// Numbers compare as numbers, everything else as text.
    static func compare(_ a: String, _ b: String) -> Int {
        if let x = ExactDecimal(parsing: a), let y = ExactDecimal(parsing: b) { return x < y ? -1 : (x == y ? 0 : 1) }
        return a < b ? -1 : (a == b ? 0 : 1)
    }

    static func matches(_ value: Value, _ op: String, _ operand: String) -> Bool {
        let text = value.flatText ?? ""
        switch op {
        case "not": return text != operand
        case "gt": return compare(text, operand) > 0
        case "gte": return compare(text, operand) >= 0
        case "lt": return compare(text, operand) < 0
        case "lte": return compare(text, operand) <= 0
        case "like": return text.lowercased().contains(operand.lowercased())
        default: return text == operand
        }
    }

    private func error(_ status: Int, _ message: String, _ details: String) -> DemoResponse {
        .json(status, .object(["status_code": .integer(Int64(status)), "message": .string(message), "details": .string(details)]))
    }

    static let statusIDs = ["Pending": 1, "Processing": 2, "Despatched": 3, "Cancelled": 4, "Completed": 5, "On Hold": 6]

    func order(_ o: Record, expand: Set<String>) -> Record {
        var r: Record = [
            "id": o.get("OrderID"), "customer_id": o.get("CustomerID"), "order_date": o.get("DateCreated"),
            "order_status_id": o.get("OrderStatus").flatText.flatMap { Self.statusIDs[$0] }.map { .integer(Int64($0)) } ?? .null,
            "order_status": o.get("OrderStatus"), "payment_method": o.get("PaymentType"),
            "currency_code": o.get("Currency"), "charged_currency_code": o.get("ChargedCurrency"), "exchange_rate": o.get("ExchangeRate"),
            "subtotal": o.get("OrderSubtotal"), "tax_total": o.get("OrderTax"), "shipping_total": o.get("ShippingCost"),
            "discount_total": o.get("TotalDiscount"), "grand_total": o.get("OrderTotal"), "coupon_code": o.get("CouponCode"),
            "comments": o.get("CustomerNotes"), "updated_at": o.get("DateModified"),
        ]
        if expand.contains("items") {
            r["items"] = .array(o.array("Items").compactMap(\.record).map { i in
                .object(["id": i.get("OrderItemID"), "order_id": o.get("OrderID"), "product_id": i.get("ProductID"),
                         "item_number": i.get("VariationReference"), "item_name": i.get("ProductReference"), "ean": i.get("VariationEAN"),
                         "quantity": i.get("Quantity"), "price": i.get("Price"), "discount": i.get("Discount"), "tax": i.get("Tax"),
                         "status": i.get("LineStatus.StatusCode")])
            })
        }
        if expand.contains("addresses") {
            r["addresses"] = .array(o.array("Addresses").compactMap(\.record).map { a in
                .object(["id": a.get("AddressID"), "address_type": a.get("AddressType"), "first_name": a.get("FirstName"),
                         "last_name": a.get("LastName"), "company": a.get("CompanyName"), "address_line_1": a.get("AddressLine1"),
                         "address_line_2": a.get("AddressLine2"), "city": a.get("Town"), "postal_code": a.get("PostCode"),
                         "country": a.get("Country.ISO"), "phone": a.get("PhoneNumber")])
            })
        }
        return r
    }

    func product(_ p: Record, expand: Set<String>) -> Record {
        var r: Record = [
            "id": p.get("ProductID"), "item_number": p.get("ProductReference"), "item_name": p.get("ProductName"),
            "manufacturer_part_number": p.get("ProductStyleCode"), "ean": p.get("ProductEAN"),
            "price": p.get("ProductPrices.0.Price"), "retail_price": p.get("ProductPrices.0.PriceRRP"), "cost": p.get("PriceBuyin"),
            "is_enabled": p.get("DisplayProduct"), "quantity_on_hand": p.get("ProductStock"), "weight": p.get("ProductWeight"),
            "created_at": p.get("DateCreated"), "updated_at": p.get("DateModified"),
        ]
        if expand.contains("variants") {
            r["variants"] = .array(p.array("Variations").compactMap(\.record).enumerated().map { n, v in
                .object(["id": v.get("VariationID"), "product_id": p.get("ProductID"), "item_number": v.get("VariationReference"),
                         "description": v.get("Attributes.0.AttributeValue"), "ean": v.get("VariationEAN"),
                         "quantity_on_hand": v.get("VariationStock"), "price": v.get("VariationPrices.0.Price"),
                         "is_enabled": v.get("VariationIsLive"), "sort_order": .integer(Int64(n))])
            })
        }
        if expand.contains("categories") {
            r["categories"] = .array(p.array("Categories").compactMap(\.record).map { c in
                .object(["id": c.get("ID"), "name": c.get("Name"), "path": c.get("NamePath")])
            })
        }
        return r
    }
}
