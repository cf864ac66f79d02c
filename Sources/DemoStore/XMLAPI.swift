// The demo store's Aurora XML API: reads an `AuroraRequestEnvelope`, answers Order Get and
// Product Get as the documents shape them, and answers anything it cannot do with an error
// envelope:
//
//   <AuroraResponseEnvelope><Header><Summary><Ack>Error</Ack>...</Summary></Header>
//     <Responses><Response><RequestID>1</RequestID><Ack>Error</Ack>
//       <Errors><Error><Code>1001</Code><Severity>Error</Severity><Message>...</Message></Error></Errors>
//     </Response></Responses></AuroraResponseEnvelope>
//
// Codes: 1000 malformed request, 1001 unknown or unsupported element, 1002 unknown paging
// token, 1003 invalid value, 1004 conflicting filters, 1005 authentication failed, 1006 a Get
// without Paging (Aurora would defer it; the demo store does not do deferred requests).
import CommerceETL

/// A parsed request element.
struct XMLNode {
    var name: String
    var attributes: [String: String]
    var text: String
    var children: [XMLNode]

    func child(_ name: String) -> XMLNode? { children.first { $0.name == name } }
    func all(_ name: String) -> [XMLNode] { children.filter { $0.name == name } }
    var value: String { text.trimmingXMLSpace() }

    static func parse(_ bytes: [UInt8]) throws -> XMLNode {
        var parser = XMLPullParser()
        parser.feed(bytes)
        parser.finish()
        var stack: [XMLNode] = []
        var root: XMLNode?
        while let event = try parser.next() {
            switch event.kind {
            case .start(let name, let attributes, _):
                stack.append(XMLNode(name: name, attributes: Dictionary(attributes, uniquingKeysWith: { a, _ in a }), text: "", children: []))
            case .text(let text, _):
                if !stack.isEmpty { stack[stack.count - 1].text += text }
            case .end(let name):
                guard let node = stack.popLast(), node.name == name else {
                    throw APIError(code: 1000, "malformed request: unexpected </\(name)> at \(event.line):\(event.column)")
                }
                if stack.isEmpty { root = node } else { stack[stack.count - 1].children.append(node) }
            }
        }
        guard let root, stack.isEmpty else { throw APIError(code: 1000, "malformed request: the document is incomplete") }
        return root
    }
}

struct APIError: Error {
    var code: Int
    var message: String
    init(code: Int, _ message: String) {
        self.code = code
        self.message = message
    }
}

struct XMLAPI: Sendable {
    enum Resource: String, Sendable { case orders, products }

    let state: StoreState
    var config: DemoStoreConfig { state.config }

    /// Answers one envelope (every `Request` in it), as response bytes.
    func respond(to body: [UInt8]) -> [UInt8] {
        let envelope: XMLNode
        do {
            envelope = try XMLNode.parse(body)
            guard envelope.name == "AuroraRequestEnvelope" else {
                throw APIError(code: 1000, "expected <AuroraRequestEnvelope>, found <\(envelope.name)>")
            }
            let token = envelope.child("Header")?.child("AuthToken")?.value ?? ""
            if token.isEmpty || (config.token != nil && token != config.token) {
                throw APIError(code: 1005, "authentication failed: missing or invalid AuthToken")
            }
        } catch {
            return render([(requestID: "1", outcome: .failure(asAPIError(error)))])
        }
        let requests = envelope.child("Requests")?.all("Request") ?? []
        if requests.isEmpty { return render([(requestID: "1", outcome: .failure(APIError(code: 1000, "the envelope holds no <Request>")))]) }
        var results: [(requestID: String, outcome: Result<Page, APIError>)] = []
        for request in requests {
            var id = "1"
            do {
                guard request.children.count == 1, let controller = request.children.first else {
                    throw APIError(code: 1000, "a <Request> holds exactly one controller element such as <Order>")
                }
                guard controller.children.count == 1, let method = controller.children.first else {
                    throw APIError(code: 1000, "<\(controller.name)> holds exactly one method element such as <Get>")
                }
                id = method.child("RequestID")?.value ?? "1"
                switch (controller.name, method.name) {
                case ("Order", "Get"):
                    let page = try get(.orders, method)
                    switch method.attributes["tracking"] {
                    case nil, "none"?: break
                    case "automatic"?: state.setSent(page.indices, true)
                    case let other?: throw APIError(code: 1003, "the tracking attribute of <Get> must be automatic or none, found '\(other)'")
                    }
                    results.append((id, .success(page)))
                case ("Order", "Update"): results.append((id, .success(try update(method))))
                case ("Product", "Get"): results.append((id, .success(try get(.products, method))))
                default: throw APIError(code: 1001, "\(controller.name) \(method.name) is not offered by the demo store (it serves Order Get and Product Get)")
                }
            } catch {
                results.append((id, .failure(asAPIError(error))))
            }
        }
        return render(results)
    }

    private func asAPIError(_ error: any Error) -> APIError {
        if let e = error as? APIError { return e }
        if let e = error as? XMLSyntaxError { return APIError(code: 1000, "malformed request: \(e)") }
        return APIError(code: 1000, "malformed request: \(error)")
    }

    struct Page {
        var resource: Resource
        var token: String
        var detailLevel: String
        var indices: [Int]
        var snapshot: Snapshot
    }

    static let orderElements: Set = ["RequestID", "Interval", "DateStart", "DateEnd", "OrderIDs", "CustomerID", "OrderStatuses",
                                     "PaymentType", "DetailLevel", "Limit", "Paging", "Tracking"]
    static let productElements: Set = ["RequestID", "Interval", "DateStart", "DateEnd", "ProductIDs", "ProductReferences",
                                       "DisplayProduct", "DetailLevel", "Limit", "Paging"]
    static let documentedButUnsupported: Set = ["FraudResult", "SourceCode", "Product", "Address", "ItemCount",
                                                "OrderLive", "ProductEANs", "VariationReferences", "ProductStyleCodes",
                                                "CategoryIDs", "AdditionalField", "OrderBy"]

    /// Order Update: the demo store sets tracking only (`<Update tracking="sent"><OrderID>..</OrderID></Update>`).
    private func update(_ method: XMLNode) throws -> Page {
        for child in method.children where child.name != "OrderID" && child.name != "RequestID" {
            throw APIError(code: 1001, "the demo store's Order Update sets tracking only; <\(child.name)> is not supported")
        }
        guard let idNode = method.child("OrderID"), let id = Int(idNode.value) else {
            throw APIError(code: 1003, "Order Update needs an <OrderID>")
        }
        let index = id - OrderGenerator.firstOrderID
        guard (0..<state.placedOrders).contains(index) else { throw APIError(code: 1003, "unknown order \(id)") }
        switch method.attributes["tracking"] {
        case "sent"?: state.setSent([index], true)
        case "none"?: state.setSent([index], false)
        default: throw APIError(code: 1003, "the demo store's Order Update needs tracking=\"sent\" or \"none\"")
        }
        return Page(resource: .orders, token: "", detailLevel: "Updated", indices: [index],
                    snapshot: Snapshot(resource: .orders, detailLevel: "Updated", indices: IndexList(), orderVersions: [:], productVersions: [:]))
    }

    private func get(_ resource: Resource, _ method: XMLNode) throws -> Page {
        let allowed = resource == .orders ? Self.orderElements : Self.productElements
        for child in method.children where !allowed.contains(child.name) {
            if Self.documentedButUnsupported.contains(child.name) {
                throw APIError(code: 1001, "<\(child.name)> is documented but not supported by the demo store")
            }
            throw APIError(code: 1001, "unknown element <\(child.name)> in \(resource == .orders ? "Order" : "Product") Get")
        }
        guard let paging = method.child("Paging") else {
            throw APIError(code: 1006, "Get without <Paging> would be deferred; the demo store answers paged requests only")
        }
        for child in paging.children where !["Token", "Limit", "Page"].contains(child.name) {
            throw APIError(code: 1001, "unknown element <\(child.name)> in <Paging>")
        }
        let limit = try positive(paging.child("Limit"), default: 100, max: config.maxPageSize)
        let page = try positive(paging.child("Page"), default: 1, max: Int(Int32.max))
        let snapshot: Snapshot
        let token: String
        if let given = paging.child("Token")?.value, !given.isEmpty {
            // With a token the other request properties are ignored, as the documents say.
            guard let found = state.snapshot(given), found.resource == resource else {
                throw APIError(code: 1002, "unknown or expired paging token")
            }
            snapshot = found
            token = given
        } else {
            snapshot = try makeSnapshot(resource, method)
            token = state.store(snapshot)
        }
        let start = min(snapshot.indices.count, (page - 1) * limit)
        let end = min(snapshot.indices.count, start + limit)
        return Page(resource: resource, token: token, detailLevel: snapshot.detailLevel, indices: snapshot.indices.slice(start..<end), snapshot: snapshot)
    }

    private func positive(_ node: XMLNode?, default fallback: Int, max: Int) throws -> Int {
        guard let node else { return fallback }
        guard let n = Int(node.value), n > 0 else { throw APIError(code: 1003, "<\(node.name)> must be an integer above 0, found '\(node.value)'") }
        guard n <= max else { throw APIError(code: 1003, "<\(node.name)> may be at most \(max), found \(n)") }
        return n
    }

    /// Applies the filters to the current data and freezes the result.
    private func makeSnapshot(_ resource: Resource, _ method: XMLNode) throws -> Snapshot {
        let detail = method.child("DetailLevel")?.value ?? "Full"
        let levels = resource == .orders ? ["Full", "Status"] : ["Full", "Language", "Minimum Identifiers"]
        guard levels.contains(detail) else {
            throw APIError(code: 1003, "<DetailLevel> must be one of \(levels.joined(separator: ", ")), found '\(detail)'")
        }
        let dates = try DateWindow(method, now: state.now)
        let cap = try method.child("Limit").map { try positive($0, default: 0, max: Int.max) }
        let orderChanges = state.orderChanges, productChanges = state.productChanges
        var indices = IndexList()
        switch resource {
        case .orders:
            let filter = try OrderFilter(method)
            let tracking = method.child("Tracking")?.value
            let sent = state.sentOrders
            let trackingFilters = ["sent", "unsent", "changed", "status_changed", "item_status_changed"]
            if let tracking, !trackingFilters.contains(tracking) {
                throw APIError(code: 1003, "<Tracking> must be one of \(trackingFilters.joined(separator: ", ")), found '\(tracking)'")
            }
            func tracked(_ h: OrderHeader) -> Bool {
                switch tracking {
                case nil: return true
                case "sent"?: return sent[h.index] != nil
                case "unsent"?: return sent[h.index] == nil
                case "changed"?: return sent[h.index].map { h.modified > $0 } ?? false
                default: return sent[h.index].map { h.version > 0 && h.modified > $0 } ?? false   // status changes are the store's only changes
                }
            }
            for i in 0..<state.placedOrders {
                let h = state.orderHeader(i, versions: orderChanges)
                if dates.matches(created: h.created, modified: h.modified), filter.matches(h), tracked(h) { indices.append(i) }
                if let cap, indices.count >= cap { break }
            }
        case .products:
            let filter = try ProductFilter(method)
            var matches: [(Int64, Int)] = []
            for i in 0..<config.products {
                let h = state.productHeader(i, versions: productChanges)
                if dates.matches(created: h.created, modified: h.modified), filter.matches(h) { matches.append((h.modified, i)) }
            }
            // Products come ordered by the date they were last modified.
            for (_, index) in matches.sorted(by: { $0 < $1 }).prefix(cap ?? Int.max) { indices.append(index) }
        }
        return Snapshot(resource: resource, detailLevel: detail, indices: indices, orderVersions: orderChanges, productVersions: productChanges)
    }

    private func render(_ results: [(requestID: String, outcome: Result<Page, APIError>)]) -> [UInt8] {
        var x = XMLBuilder()
        x.declaration()
        x.open("AuroraResponseEnvelope")
        x.open("Header")
        x.leaf("Version", "1.5")
        x.leaf("Timestamp", DemoDates.iso(state.now))
        x.open("RequestDetails")
        x.leaf("URL", DemoStoreServer.xmlPath)
        x.close("RequestDetails")
        x.open("Summary")
        let failed = results.filter { if case .failure = $0.outcome { true } else { false } }.count
        x.leaf("Ack", failed == 0 ? "OK" : "Error")
        x.leaf("RequestsProcessed", results.count)
        x.leaf("RequestsSucceeded", results.count - failed)
        x.leaf("RequestErrors", failed)
        x.close("Summary")
        x.close("Header")
        x.open("Responses")
        for (id, outcome) in results {
            x.open("Response")
            x.leaf("RequestID", id)
            switch outcome {
            case .failure(let error):
                x.leaf("Ack", "Error")
                x.open("Errors")
                x.open("Error")
                x.leaf("Code", error.code)
                x.leaf("Severity", "Error")
                x.leaf("Message", error.message)
                x.close("Error")
                x.close("Errors")
            case .success(let page) where page.detailLevel == "Updated":
                x.leaf("Ack", "OK")
                x.open("Data")
                x.leaf("OrderID", OrderGenerator.firstOrderID + page.indices[0])
                x.close("Data")
            case .success(let page):
                x.leaf("Ack", "OK")
                x.open("Paging")
                x.leaf("Token", page.token)
                x.close("Paging")
                if page.indices.isEmpty {
                    x.leaf("Data", nil)
                } else {
                    x.open("Data")
                    for index in page.indices {
                        switch page.resource {
                        case .orders:
                            let h = state.orderHeader(index, versions: page.snapshot.orderVersions)
                            if page.detailLevel == "Status" {
                                OrderGenerator.renderStatus(h, config: config, into: &x)
                            } else {
                                OrderGenerator.renderFull(h, config: config, into: &x)
                            }
                        case .products:
                            let h = state.productHeader(index, versions: page.snapshot.productVersions)
                            switch page.detailLevel {
                            case "Minimum Identifiers": ProductGenerator.renderMinimum(h, into: &x)
                            case "Language": ProductGenerator.renderLanguage(h, config: config, into: &x)
                            default: ProductGenerator.renderFull(h, config: config, into: &x)
                            }
                        }
                    }
                    x.close("Data")
                }
            }
            x.close("Response")
        }
        x.close("Responses")
        x.close("AuroraResponseEnvelope")
        var bytes = x.bytes
        bytes.append(10)
        return bytes
    }
}
