// `type: aurora-xml`: Order Get and Product Get over Aurora's XML API.
//
// Every Get is sent with Paging, so Aurora never defers it. The first page freezes a snapshot
// and returns its token; the following pages are requested with that token, up to
// `concurrency` at once, and emitted in page order. The end is the first empty page. Each page
// is parsed as it streams in and emitted only once it is complete, so a retried page never
// emits a record twice. Transient failures (connection errors, timeouts, 5xx, 429, a cut or
// malformed body) are retried with exponential backoff and jitter, honouring Retry-After; an
// error envelope fails the run at once. The token is sent in the request body only and never
// appears in logs or errors.
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

public struct AuroraXMLConnection: Connection {
    /// The XML API endpoint, or `demo` / `demo:?orders=N&products=M&seed=S` for the built-in demo store.
    public var url: String
    /// The API access token (`Header/AuthToken`); use `${AURORA_TOKEN}`. Not needed for `demo`.
    public var token: String
    /// Concurrency, timeouts, retries and limits.
    public var http: HTTPSettings
    /// Zone of date-times that carry no offset: UTC (default), `+01:00`, or a name such as `Europe/London`.
    public var timezone: NaiveTimeZone

    public var summary: String { "aurora-xml \(EmbeddedStores.isDemo(url) ? url + " (built-in demo store)" : url)" }

    static func parse(_ config: ConfigMap) -> (any Connection)? {
        let url = config.string("url", required: true)
        let token = config.secret("token")
        let http = HTTPSettings.parse(config)
        var zone = NaiveTimeZone.utc
        if let v = config.value("timezone"), let text = v.string() {
            if let z = NaiveTimeZone(text) { zone = z } else { v.error("'\(v.path)' must be UTC, an offset such as +01:00, or a zone name such as Europe/London; found \(v.shown(text))") }
        }
        guard let url else { return nil }
        let isDemo = EmbeddedStores.isDemo(url)
        if !isDemo, !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
            config.value("url")?.error("'\(config.path).url' must be an http(s) URL or 'demo', found \(config.shown("url", url))")
            return nil
        }
        if !isDemo, (token ?? "").isEmpty {
            config.context.diagnostics.error("'\(config.path)' needs 'token' (for example token: ${AURORA_TOKEN}) to call \(url)", at: config.location)
            return nil
        }
        return AuroraXMLConnection(url: url, token: token ?? "demo", http: http, timezone: zone)
    }

    public func extractor(stage: String, config: ConfigMap) -> (any Extractor)? {
        let incremental = Incremental.parse(config.value("incremental"), fields: ["DateModified", "DateCreated"])
        guard let request = AuroraXMLGetRequest.parse(config) else { return nil }
        if incremental != nil, request.interval != nil || request.since != nil {
            config.context.diagnostics.error("'\(config.path)' may have 'incremental' or 'interval'/'since', not both", at: config.keyLocation("incremental"))
            return nil
        }
        return AuroraXMLExtractor(connection: self, request: request, stage: stage, incremental: incremental)
    }
}

/// What one extract stage asks Order Get or Product Get for.
struct AuroraXMLGetRequest: Sendable {
    var resource: AuroraXMLRecordReader.Resource
    var detailLevel: String
    var pageSize: Int
    var language: String?
    var interval: String?
    var since: String?
    var until: String?
    var dateField: String?
    /// Filter elements, already as XML.
    var filterXML: String
    /// Orders: the Tracking filter (unsent, changed, ...), and whether to mark exported orders as sent.
    var tracking: String? = nil
    var acknowledge = false

    static func parse(_ config: ConfigMap) -> AuroraXMLGetRequest? {
        let resource = config.choice("resource", ["orders", "products"], required: true).flatMap(AuroraXMLRecordReader.Resource.init)
        let levels = resource == .products ? ["Full", "Language", "Minimum Identifiers"] : ["Full", "Status"]
        let detailLevel = config.choice("detail_level", levels, default: "Full")
        let pageSize = config.integer("page_size", in: 1...1000) ?? 100
        let language = config.string("language")
        let interval = config.string("interval")
        if let interval, !isDuration(interval) {
            config.value("interval")?.error("'\(config.path).interval' must be an ISO 8601 duration such as P1Y, P1M, PT10S or P1DT2H; found \(config.shown("interval", interval))")
        }
        let since = config.string("since"), until = config.string("until")
        for (key, value) in [("since", since), ("until", until)] {
            if let value, DateParser.parse(value).flatMap({ if case .date = $0 { true } else { nil } }) == nil {
                config.value(key)?.error("'\(config.path).\(key)' must be a date as YYYY-MM-DD, found \(config.shown(key, value))")
            }
        }
        if interval != nil, since != nil {
            config.context.diagnostics.error("'\(config.path)' may have 'interval' or 'since', not both (Aurora permits only one of Interval and DateStart)", at: config.keyLocation("since"))
        }
        let dateField = config.choice("date_field", ["created", "modified", "both"])
        var filterXML = ""
        if let filters = config.map("filters"), let resource {
            filterXML = resource == .orders ? orderFilters(filters) : productFilters(filters)
            filters.finish()
        }
        var tracking: String? = nil
        var acknowledge = false
        if let t = config.map("tracking") {
            tracking = t.choice("filter", ["sent", "unsent", "changed", "status_changed", "item_status_changed"])
            acknowledge = t.bool("acknowledge") ?? false
            t.finish()
            if resource == .products { config.context.diagnostics.error("'\(config.path).tracking' applies to orders only", at: t.location) }
        }
        guard let resource, let detailLevel else { return nil }
        return AuroraXMLGetRequest(resource: resource, detailLevel: detailLevel, pageSize: pageSize, language: language,
                                   interval: interval, since: since, until: until, dateField: dateField, filterXML: filterXML,
                                   tracking: tracking, acknowledge: acknowledge)
    }

    static func isDuration(_ text: String) -> Bool {
        text.range(of: #"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$"#, options: .regularExpression) != nil
    }

    private static func integers(_ config: ConfigMap, _ key: String) -> [Int]? {
        guard let v = config.value(key), let texts = v.strings() else { return nil }
        let numbers = texts.compactMap { Int($0) }
        if numbers.count != texts.count { v.error("'\(v.path)' must list whole numbers") }
        return numbers
    }

    private static func orderFilters(_ f: ConfigMap) -> String {
        var xml = ""
        if let ids = integers(f, "order_ids") {
            xml += "<OrderIDs>" + ids.map { "<OrderID>\($0)</OrderID>" }.joined() + "</OrderIDs>"
        }
        if let customer = f.integer("customer_id") {
            if f.has("order_ids") { f.context.diagnostics.error("'\(f.path)': customer_id cannot be used with order_ids", at: f.keyLocation("customer_id")) }
            xml += "<CustomerID>\(customer)</CustomerID>"
        }
        var statuses = ""
        for id in integers(f, "status_ids") ?? [] { statuses += "<StatusID>\(id)</StatusID>" }
        for s in f.strings("statuses") ?? [] { statuses += "<OrderStatus condition=\"IS\">\(escape(s))</OrderStatus>" }
        for s in f.strings("exclude_statuses") ?? [] { statuses += "<OrderStatus condition=\"NOT\">\(escape(s))</OrderStatus>" }
        if !statuses.isEmpty { xml += "<OrderStatuses>\(statuses)</OrderStatuses>" }
        if let payment = f.string("payment_type") {
            let condition = f.choice("payment_condition", ["is", "not"], default: "is") ?? "is"
            xml += "<PaymentType condition=\"\(condition)\">\(escape(payment))</PaymentType>"
        }
        return xml
    }

    private static func productFilters(_ f: ConfigMap) -> String {
        var xml = ""
        if let ids = integers(f, "product_ids") {
            xml += "<ProductIDs>" + ids.map { "<ProductID>\($0)</ProductID>" }.joined() + "</ProductIDs>"
        }
        if let refs = f.strings("product_references") {
            xml += "<ProductReferences>" + refs.map { "<ProductReference>\(escape($0))</ProductReference>" }.joined() + "</ProductReferences>"
        }
        if let display = f.bool("display_product") { xml += "<DisplayProduct>\(display ? 1 : 0)</DisplayProduct>" }
        return xml
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// The request envelope for one page.
    func envelope(token authToken: String, page: Int, pagingToken: String?) -> String {
        var get = "<RequestID>1</RequestID>"
        let dateAttr = dateField.map { " date=\"\($0)\"" } ?? ""
        if let interval { get += "<Interval\(dateAttr)>\(interval)</Interval>" }
        if let since { get += "<DateStart\(dateAttr)>\(since)</DateStart>" }
        if let until { get += "<DateEnd\(dateAttr)>\(until)</DateEnd>" }
        get += filterXML
        if let tracking { get += "<Tracking>\(tracking)</Tracking>" }
        get += "<DetailLevel>\(detailLevel)</DetailLevel>"
        get += "<Paging>" + (pagingToken.map { "<Token>\(Self.escape($0))</Token>" } ?? "") + "<Limit>\(pageSize)</Limit><Page>\(page)</Page></Paging>"
        let controller = resource == .orders ? "Order" : "Product"
        // tracking="none": never let a Get mark orders as sent before they are stored.
        let method = resource == .orders ? "<Get tracking=\"none\">" : "<Get>"
        return """
            <?xml version="1.0" encoding="utf-8"?>
            <AuroraRequestEnvelope><Header><AuthToken>\(Self.escape(authToken))</AuthToken></Header><Requests><Request><\(controller)>\(method)\(get)</Get></\(controller)></Request></Requests></AuroraRequestEnvelope>
            """
    }
}
