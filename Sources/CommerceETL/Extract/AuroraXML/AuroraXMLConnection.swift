// `type: aurora-xml` (README: "Connections"). Every Get is sent with Paging so Aurora never
// defers it, and pages 2.. reuse the first page's token so the export is one snapshot; a page is
// emitted only once complete, so a retried page never emits a record twice.
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

public struct AuroraXMLConnection: ConnectionKind {
    /// The XML API endpoint, or `demo` / `demo:?orders=N&products=M&seed=S` for the built-in demo store.
    public var url: String
    /// The API access token (`Header/AuthToken`); use `${AURORA_TOKEN}`. Not needed for `demo`.
    public var token: String
    /// Concurrency, timeouts, retries and limits.
    public var http: HTTPSettings
    /// Zone of date-times that carry no offset: UTC (default), `+01:00`, or a name such as `Europe/London`.
    public var timezone: NaiveTimeZone

    public var summary: String { "aurora-xml \(EmbeddedStores.isDemo(url) ? url + " (built-in demo store)" : url)" }

    public static let type = "aurora-xml"
    public static let summary = "Order Get and Product Get over Aurora's XML API"
    enum Keys {
        static let url = Key.string("url", required: true, doc: "the XML API endpoint (`https://STORE/ajax/Ajax_API/processRequestXml`), or `demo` / `demo:?orders=N&products=M&seed=S&latency=MS&faults=SPEC` to start the built-in demo store for the run",
                                    example: "${AURORA_XML_URL:-demo}")
        static let token = Key.secret("token", doc: "required unless `demo`: the API access token, sent as `Header/AuthToken`; write `${AURORA_TOKEN}`. It is never logged or printed", example: "${AURORA_TOKEN}")
        static let timezone = Key.custom("timezone", .string, doc: "zone of date-times that carry no offset: `UTC`, `+01:00`, or a name such as `Europe/London`. With a named zone, a time the clocks pass twice (01:07:04 on 2023-10-29 in London) is the earlier instant (`00:07:04Z`, as java.time and Python choose), and a time the clocks skip (01:30 on 2023-03-26) is read with the offset before the change (`01:30Z`, shown as 02:30 BST)",
                                         example: "Europe/London") { (v: ConfigValue) -> NaiveTimeZone? in
            guard let text = v.string() else { return nil }
            guard let zone = NaiveTimeZone(text) else {
                v.error("'\(v.path)' must be UTC, an offset such as +01:00, or a zone name such as Europe/London; found \(v.shown(text))")
                return nil
            }
            return zone
        }.defaulting(.utc, shown: "UTC")
    }
    public static var options: [OptionSpec] { [Keys.url.spec, Keys.token.spec] + HTTPSettings.options + [Keys.timezone.spec] }
    public static var extractOptions: [OptionSpec] { AuroraXMLGetRequest.options + [incremental.spec] }
    static let incremental = Incremental.key(fields: ["DateModified", "DateCreated"])

    public static func parse(_ config: ConfigMap) -> (any Connection)? {
        let url = config.read(Keys.url)
        let token = config.read(Keys.token)
        let http = HTTPSettings.parse(config)
        let zone = config.read(Keys.timezone)
        guard let url else { return nil }
        let isDemo = EmbeddedStores.isDemo(url)
        guard HTTPConnectionSettings.checkURL(url, config.value(Keys.url.spec)) else { return nil }
        if !isDemo, (token ?? "").isEmpty {
            config.context.diagnostics.error("'\(config.path)' needs 'token' (for example token: ${AURORA_TOKEN}) to call \(url)", at: config.location)
            return nil
        }
        guard HTTPConnectionSettings.checkNotPlaceholder(token, config.value(Keys.token.spec), url: url) else { return nil }
        return AuroraXMLConnection(url: url, token: token ?? "demo", http: http, timezone: zone)
    }

    public func extractor(stage: String, config: ConfigMap) -> (any Extractor)? {
        let incremental = config.read(Self.incremental)
        guard let request = AuroraXMLGetRequest.parse(config) else { return nil }
        if incremental != nil, request.interval != nil || request.since != nil {
            config.context.diagnostics.error("'\(config.path)' may have 'incremental' or 'interval'/'since', not both", at: config.keyLocation(Self.incremental.spec.name))
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

    enum Keys {
        static let resource = Key.choice("resource", ["orders", "products"], required: true, doc: "`orders` (Order Get; records are `Response/Data/Order`) or `products` (Product Get; `Response/Data/Product`)")
        static let detailLevel = Key.choice("detail_level", ["Full", "Status", "Language", "Minimum Identifiers"], doc: "orders: `Full`, `Status`; products: `Full`, `Language`, `Minimum Identifiers`").defaulting("Full")
        static let pageSize = Key.integer("page_size", in: 1...1000, doc: "`Paging/Limit`: records per page").defaulting(100)
        static let language = Key.string("language", doc: "preferred language for language-tagged text", example: "en-gb")
        static let interval = Key.string("interval", doc: "an ISO 8601 duration back from now (`P1Y`, `P1M`, `PT10S`, `P1DT2H`; Aurora ends it 10 seconds before now)", example: "P1D")
        static let since = Key.string("since", doc: "`DateStart`, `YYYY-MM-DD`; not together with `interval`", example: "2024-01-01")
        static let until = Key.string("until", doc: "`DateEnd`, `YYYY-MM-DD`", example: "2024-12-31")
        static let dateField = Key.choice("date_field", ["created", "modified", "both"], default: "`both` (Aurora's default)", doc: "which date `interval`/`since` look at")
        static let filters = OptionSpec("filters", .options(AuroraXMLGetRequest.filterOptions), doc: "filters Aurora applies (orders or products keys, by `resource`)", example: "{ statuses: [Despatched] }")
        static let trackingFilter = Key.choice("filter", ["sent", "unsent", "changed", "status_changed", "item_status_changed"], doc: "Aurora's `Tracking` filter: which orders to get")
        static let acknowledge = Key.boolean("acknowledge", doc: "mark the exported orders as sent once every output is committed").defaulting(false)
        static let tracking = OptionSpec("tracking", .options([trackingFilter.spec, acknowledge.spec]), doc: "orders only: order tracking (export what is unsent, then mark it sent)", example: "{ filter: unsent, acknowledge: true }")
        // Filters.
        static let orderIDs = Key.strings("order_ids", doc: "orders: these order ids (whole numbers)", example: "[1001, 1002]")
        static let customerID = Key.integer("customer_id", in: Int.min...Int.max, doc: "orders: one customer's (not with `order_ids`)", example: "42")
        static let statusIDs = Key.strings("status_ids", doc: "orders: these status ids (whole numbers)", example: "[1, 2]")
        static let statuses = Key.strings("statuses", doc: "orders: with these statuses (`IS`)", example: "[Despatched]")
        static let excludeStatuses = Key.strings("exclude_statuses", doc: "orders: without these statuses (`NOT`)", example: "[Cancelled]")
        static let paymentType = Key.string("payment_type", doc: "orders: by payment type", example: "PayPal")
        static let paymentCondition = Key.choice("payment_condition", ["is", "not"], doc: "orders: whether `payment_type` must match or must not").defaulting("is")
        static let productIDs = Key.strings("product_ids", doc: "products: these product ids (whole numbers)", example: "[10, 11]")
        static let productReferences = Key.strings("product_references", doc: "products: these references", example: "[SKU-1]")
        static let displayProduct = Key.boolean("display_product", doc: "products: only those displayed (or hidden)", example: "true")
    }

    static var options: [OptionSpec] {
        [Keys.resource.spec, Keys.detailLevel.spec, Keys.pageSize.spec, Keys.language.spec, Keys.interval.spec, Keys.since.spec, Keys.until.spec,
         Keys.dateField.spec, Keys.filters, Keys.tracking]
    }

    static var filterOptions: [OptionSpec] {
        [Keys.orderIDs.spec, Keys.customerID.spec, Keys.statusIDs.spec, Keys.statuses.spec, Keys.excludeStatuses.spec, Keys.paymentType.spec,
         Keys.paymentCondition.spec, Keys.productIDs.spec, Keys.productReferences.spec, Keys.displayProduct.spec]
    }

    static func parse(_ config: ConfigMap) -> AuroraXMLGetRequest? {
        let resource = config.read(Keys.resource).flatMap(AuroraXMLRecordReader.Resource.init)
        let levels = resource == .products ? ["Full", "Language", "Minimum Identifiers"] : ["Full", "Status"]
        let detailLevel = config.value(Keys.detailLevel.spec).map { $0.choice(levels) } ?? Keys.detailLevel.value
        let pageSize = config.read(Keys.pageSize)
        let language = config.read(Keys.language)
        let interval = config.read(Keys.interval)
        if let interval, !isDuration(interval) {
            config.value(Keys.interval.spec)?.error("'\(config.path).interval' must be an ISO 8601 duration such as P1Y, P1M, PT10S or P1DT2H; found \(config.shown(Keys.interval, interval))")
        }
        let since = config.read(Keys.since), until = config.read(Keys.until)
        for (key, value) in [(Keys.since, since), (Keys.until, until)] {
            if let value, DateParser.parse(value).flatMap({ if case .date = $0 { true } else { nil } }) == nil {
                config.value(key.spec)?.error("'\(config.path).\(key.spec.name)' must be a date as YYYY-MM-DD, found \(config.shown(key, value))")
            }
        }
        if interval != nil, since != nil {
            config.context.diagnostics.error("'\(config.path)' may have 'interval' or 'since', not both (Aurora permits only one of Interval and DateStart)", at: config.keyLocation(Keys.since.spec.name))
        }
        let dateField = config.read(Keys.dateField)
        var filterXML = ""
        if let filters = config.value(Keys.filters)?.map(), let resource {
            filterXML = resource == .orders ? orderFilters(filters) : productFilters(filters)
            filters.finish()
        }
        var tracking: String? = nil
        var acknowledge = false
        if let t = config.value(Keys.tracking)?.map() {
            tracking = t.read(Keys.trackingFilter)
            acknowledge = t.read(Keys.acknowledge)
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

    private static func integers(_ config: ConfigMap, _ key: Setting<[String]>) -> [Int]? {
        guard let v = config.value(key.spec), let texts = v.strings() else { return nil }
        let numbers = texts.compactMap { Int($0) }
        if numbers.count != texts.count { v.error("'\(v.path)' must list whole numbers") }
        return numbers
    }

    private static func orderFilters(_ f: ConfigMap) -> String {
        var xml = ""
        if let ids = integers(f, Keys.orderIDs) {
            xml += "<OrderIDs>" + ids.map { "<OrderID>\($0)</OrderID>" }.joined() + "</OrderIDs>"
        }
        if let customer = f.read(Keys.customerID) {
            if f.has(Keys.orderIDs.spec.name) { f.context.diagnostics.error("'\(f.path)': customer_id cannot be used with order_ids", at: f.keyLocation(Keys.customerID.spec.name)) }
            xml += "<CustomerID>\(customer)</CustomerID>"
        }
        var statuses = ""
        for id in integers(f, Keys.statusIDs) ?? [] { statuses += "<StatusID>\(id)</StatusID>" }
        for s in f.read(Keys.statuses) ?? [] { statuses += "<OrderStatus condition=\"IS\">\(escape(s))</OrderStatus>" }
        for s in f.read(Keys.excludeStatuses) ?? [] { statuses += "<OrderStatus condition=\"NOT\">\(escape(s))</OrderStatus>" }
        if !statuses.isEmpty { xml += "<OrderStatuses>\(statuses)</OrderStatuses>" }
        if let payment = f.read(Keys.paymentType) {
            let condition = f.read(Keys.paymentCondition)
            xml += "<PaymentType condition=\"\(condition)\">\(escape(payment))</PaymentType>"
        }
        return xml
    }

    private static func productFilters(_ f: ConfigMap) -> String {
        var xml = ""
        if let ids = integers(f, Keys.productIDs) {
            xml += "<ProductIDs>" + ids.map { "<ProductID>\($0)</ProductID>" }.joined() + "</ProductIDs>"
        }
        if let refs = f.read(Keys.productReferences) {
            xml += "<ProductReferences>" + refs.map { "<ProductReference>\(escape($0))</ProductReference>" }.joined() + "</ProductReferences>"
        }
        if let display = f.read(Keys.displayProduct) { xml += "<DisplayProduct>\(display ? 1 : 0)</DisplayProduct>" }
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
