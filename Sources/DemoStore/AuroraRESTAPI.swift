// The demo store's Aurora v2 REST API (aurora-v2-rest-api.txt): OAuth client-credentials
// tokens, `GET /v2/orders` and `/v2/products` with page/pageSize in the common envelope,
// `GET /v2/orders/{id}`, and the document's problem bodies (404, 400 validation_error, 401).
// Field names are the v2 API's camelCase; the data is the store's, as the XML API serves it.
import CommerceETL
import Foundation
import OrderedCollections
import Synchronization

final class AuroraRESTAPI: Sendable {
    let state: StoreState
    let tokens = Mutex<[String: ContinuousClock.Instant]>([:])

    init(state: StoreState) { self.state = state }

    static let notice = "Field 'id' is to be deprecated. Please update your client to use 'orderId' or 'productId' instead."

    func respond(_ request: DemoRequest) -> DemoResponse {
        let config = state.config
        guard request.path.count >= 2, request.path[0] == "v2" else { return problem(404, "Not Found") }
        if request.path[1] == "access_token" {
            guard request.method == "POST" else { return problem(405, "Method Not Allowed") }
            return accessToken(request)
        }
        guard request.method == "GET" else { return problem(405, "Method Not Allowed") }
        let bearer = request.headers["authorization"].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
        let valid = bearer.map { token in tokens.withLock { ($0[token] ?? .now) > .now } } ?? false
        guard valid else { return problem(401, "Unauthorized", detail: ["token": [.string("missing, unknown or expired access token")]]) }

        let resource = request.path[1]
        guard resource == "orders" || resource == "products" else { return problem(404, "Not Found") }
        if request.path.count == 3 {
            guard let id = Int(request.path[2]) else { return problem(404, "Not Found") }
            let index = resource == "orders" ? id - OrderGenerator.firstOrderID : id - ProductGenerator.firstProductID
            let total = resource == "orders" ? config.orders : config.products
            guard (0..<total).contains(index) else { return problem(404, "Not Found") }
            let item = resource == "orders" ? order(state.orderRecord(index)) : product(state.productRecord(index))
            return envelope(["\(resource.dropLast())": .array([.object(item)])], notices: [])
        }
        guard request.path.count == 2 else { return problem(404, "Not Found") }
        var invalid = OrderedDictionary<String, Value>()
        for (name, _) in request.query where name != "page" && name != "pageSize" {
            invalid[name] = .array([.string("This field was not expected.")])
        }
        let page = Int(request.query("page") ?? "1") ?? 0
        let pageSize = Int(request.query("pageSize") ?? "30") ?? 0
        if page < 1 { invalid["page"] = .array([.string("This value should be a whole number of 1 or more.")]) }
        if !(1...500).contains(pageSize) { invalid["pageSize"] = .array([.string("This value should be between 1 and 500.")]) }
        if !invalid.isEmpty { return validationError(invalid) }

        let total = resource == "orders" ? config.orders : config.products
        let start = min(total, (page - 1) * pageSize), end = min(total, start + pageSize)
        let items: [Value] = (start..<end).map { .object(resource == "orders" ? order(state.orderRecord($0)) : product(state.productRecord($0))) }
        let link = { (p: Int) -> Value in .string("/v2/\(resource)?page=\(p)&pageSize=\(pageSize)") }
        let paging: Record = [
            "currentPage": .integer(Int64(page)), "itemsPerPage": .integer(Int64(pageSize)), "totalItems": .integer(Int64(total)),
            "previous": page > 1 ? link(page - 1) : .null, "next": end < total ? link(page + 1) : .null,
        ]
        return envelope(["items": .array(items), "paging": .object(paging)], notices: [Self.notice])
    }

    private func accessToken(_ request: DemoRequest) -> DemoResponse {
        let form = Dictionary(parseQuery(Substring(String(decoding: request.body, as: UTF8.self))), uniquingKeysWith: { _, b in b })
        guard request.headers["authorization"]?.hasPrefix("Basic ") == true else {
            return problem(401, "Unauthorized", detail: ["authorization": [.string("a Basic Authorization header is required")]])
        }
        guard form["grant_type"] == "client_credentials" else {
            return validationError(["grant_type": .array([.string("This value should be client_credentials.")])])
        }
        guard let id = form["client_id"], !id.isEmpty, let secret = form["client_secret"], !secret.isEmpty,
              state.config.clientSecret == nil || state.config.clientSecret == secret else {
            return problem(401, "Unauthorized", detail: ["client": [.string("unknown client_id or wrong client_secret")]])
        }
        let token = (0..<4).map { _ in String(UInt64.random(in: 0...UInt64.max), radix: 16) }.joined()
        let lifetime = state.config.tokenLifetime
        tokens.withLock { $0[token] = .now + .seconds(lifetime) }
        state.countToken()
        return .json(200, .object(["token_type": .string("Bearer"), "expires_in": .integer(Int64(lifetime)), "access_token": .string(token)]))
    }

    private func envelope(_ payload: Record, notices: [String]) -> DemoResponse {
        var fields: Record = [
            "requestId": .string(String(UInt64.random(in: 0...UInt64.max), radix: 36)),
            "version": .string("1.0.0"),
            "timestamp": .string(Timestamp(epochSeconds: state.now).description),
        ]
        if !notices.isEmpty { fields["notices"] = .array(notices.map(Value.string)) }
        fields["payload"] = .object(payload)
        return .json(200, .object(fields))
    }

    private func problem(_ status: Int, _ title: String, detail: OrderedDictionary<String, [Value]> = [:]) -> DemoResponse {
        var problem = OrderedDictionary<String, Value>()
        for (k, v) in detail { problem[k] = .array(v) }
        return .json(status, .object([
            "requestId": .string(String(UInt64.random(in: 0...UInt64.max), radix: 36)),
            "helpDocumentation": .array([]),
            "problem": detail.isEmpty ? .array([]) : .object(Record(problem)),
            "status": .integer(Int64(status)), "type": .string("about:blank"), "title": .string(title),
        ]))
    }

    private func validationError(_ problem: OrderedDictionary<String, Value>) -> DemoResponse {
        .json(400, .object([
            "requestId": .string(String(UInt64.random(in: 0...UInt64.max), radix: 36)),
            "helpDocumentation": .object(["description": .string("Orders API Documentation"),
                                          "url": .string("https://docs.auroracommerce.com/docs/aurora-v2-api-guide")]),
            "problem": .object(Record(problem)),
            "status": .integer(400), "type": .string("validation_error"), "title": .string("Validation Error"),
        ]))
    }

    /// An order in the v2 API's shape.
    func order(_ o: Record) -> Record {
        [
            "id": o.get("OrderID"), "orderId": o.get("OrderID"), "customerId": o.get("CustomerID"),
            "status": o.get("OrderStatus"), "paymentType": o.get("PaymentType"),
            "chargedCurrency": o.get("ChargedCurrency"), "currency": o.get("Currency"), "exchangeRate": o.get("ExchangeRate"),
            "subtotal": o.get("OrderSubtotal"), "tax": o.get("OrderTax"), "shippingCost": o.get("ShippingCost"),
            "couponCode": o.get("CouponCode"), "totalDiscount": o.get("TotalDiscount"), "total": o.get("OrderTotal"),
            "customerNotes": o.get("CustomerNotes"),
            "createdAt": o.get("DateCreated"), "modifiedAt": o.get("DateModified"),
            "addresses": .array(o.array("Addresses").compactMap(\.record).map { a in
                .object(["type": a.get("AddressType") == .string("BT") ? .string("billing") : .string("shipping"),
                         "firstName": a.get("FirstName"), "lastName": a.get("LastName"), "company": a.get("CompanyName"),
                         "line1": a.get("AddressLine1"), "line2": a.get("AddressLine2"), "town": a.get("Town"),
                         "postcode": a.get("PostCode"), "countryIso": a.get("Country.ISO"), "phone": a.get("PhoneNumber")])
            }),
            "items": .array(o.array("Items").compactMap(\.record).map { i in
                .object(["lineId": i.get("OrderItemID"), "productId": i.get("ProductID"), "sku": i.get("VariationReference"),
                         "ean": i.get("VariationEAN"), "quantity": i.get("Quantity"), "price": i.get("Price"),
                         "discount": i.get("Discount"), "tax": i.get("Tax"), "status": i.get("LineStatus.StatusCode")])
            }),
        ]
    }

    /// A product in the v2 API's shape.
    func product(_ p: Record) -> Record {
        [
            "id": p.get("ProductID"), "productId": p.get("ProductID"), "reference": p.get("ProductReference"),
            "name": p.get("ProductName"), "ean": p.get("ProductEAN"), "live": p.get("DisplayProduct"), "stock": p.get("ProductStock"),
            "prices": .array(p.array("ProductPrices").compactMap(\.record).map { c in
                .object(["currency": c.get("ISO"), "price": c.get("Price"), "rrp": c.get("PriceRRP")])
            }),
            "variations": .array(p.array("Variations").compactMap(\.record).map { v in
                .object(["id": v.get("VariationID"), "sku": v.get("VariationReference"), "ean": v.get("VariationEAN"),
                         "stock": v.get("VariationStock"), "price": v.get("VariationPrices.0.Price"), "live": v.get("VariationIsLive")])
            }),
            "createdAt": p.get("DateCreated"), "modifiedAt": p.get("DateModified"),
        ]
    }
}
