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

/// `incremental: { field: DateModified, lookback: PT10S, start: 2024-01-01 }`: each run asks only
/// for records whose `field` is later than the bookmark the last successful run saved, less
/// `lookback`; the first run starts at `start` (or exports everything).
public struct Incremental: Sendable {
    /// The record's date field that moves when it changes.
    public var field: String
    /// How far before the bookmark to look again (records changed while the last run read).
    public var lookbackSeconds: Int64
    /// Where the first run starts.
    public var start: CalendarDate?

    static func parse(_ value: ConfigValue?, fields: [String]) -> Incremental? {
        guard let value, let map = value.map() else { return nil }
        let field = map.choice("field", fields, required: true)
        var lookback: Int64 = 10
        if let v = map.value("lookback"), let text = v.string() {
            if let seconds = Self.seconds(text) {
                lookback = seconds
            } else if Self.seconds(text, limit: .max) != nil || text.utf8.count > 40 {
                v.error("'\(v.path)' must be at most a century, found \(v.shown(text))")
            } else {
                v.error("'\(v.path)' must be an ISO 8601 duration of days, hours, minutes or seconds such as PT10S or P1DT2H, found \(v.shown(text))")
            }
        }
        var start: CalendarDate? = nil
        if let v = map.value("start"), let text = v.string() {
            if case .date(let d)? = DateParser.parse(text) { start = d } else { v.error("'\(v.path)' must be a date as YYYY-MM-DD, found \(v.shown(text))") }
        }
        map.finish()
        return field.map { Incremental(field: $0, lookbackSeconds: lookback, start: start) }
    }

    /// The longest lookback: a century.
    static let maxLookbackSeconds: Int64 = 100 * 366 * 86_400

    /// `PT10S`, `P1DT2H`, `PT0S` as seconds; nil for anything else (years and months have no
    /// fixed length) and for durations over a century, so no arithmetic on it can overflow.
    static func seconds(_ text: String, limit: Int64 = maxLookbackSeconds) -> Int64? {
        guard text.hasPrefix("P"), text.count > 1, text.count <= 40 else { return nil }
        var total: Int64 = 0, number = "", inTime = false, any = false
        for ch in text.dropFirst() {
            if ch.isASCII, ch.isNumber { number.append(ch); continue }
            if ch == "T", !inTime, number.isEmpty { inTime = true; continue }
            guard let n = Int64(number), n <= 1_000_000_000_000 else { return limit == .max && !number.isEmpty ? .max : nil }
            number = ""
            any = true
            let unit: Int64
            switch (ch, inTime) {
            case ("W", false): unit = 604_800
            case ("D", false): unit = 86_400
            case ("H", true): unit = 3_600
            case ("M", true): unit = 60
            case ("S", true): unit = 1
            default: return nil
            }
            total += n * unit   // at most 10^12 x 604,800, well inside Int64
            if total > limit { return nil }
        }
        return any && number.isEmpty ? total : nil
    }
}

/// Marks exported orders as sent with Order Update `tracking="sent"`, a batch of requests per
/// envelope. Run only after every output of the run is committed, so a failed run leaves the
/// orders unsent and the next run exports them again.
struct TrackingAcknowledger: Sendable {
    var endpoint: String
    var connection: AuroraXMLConnection
    static let batch = 100

    func acknowledge(_ orderIDs: [Int64]) async throws {
        guard !orderIDs.isEmpty else { return }
        try await HTTPConnectionSettings.withClient(connection.http) { client in
            try await send(orderIDs, client: client)
        }
    }

    private func send(_ orderIDs: [Int64], client: HTTPClient) async throws {
        let exchange = HTTPExchange(client: client, settings: connection.http)
        let policy = RetryPolicy(connection.http)
        for start in stride(from: 0, to: orderIDs.count, by: Self.batch) {
            let ids = orderIDs[start..<min(orderIDs.count, start + Self.batch)]
            var body = "<?xml version=\"1.0\" encoding=\"utf-8\"?><AuroraRequestEnvelope><Header><AuthToken>\(AuroraXMLGetRequest.escape(connection.token))</AuthToken></Header><Requests>"
            for (n, id) in ids.enumerated() {
                body += "<Request><Order><Update tracking=\"sent\"><RequestID>\(n + 1)</RequestID><OrderID>\(id)</OrderID></Update></Order></Request>"
            }
            body += "</Requests></AuroraRequestEnvelope>"
            let bytes = Array(body.utf8)
            let what = "orders \(ids.first!)...\(ids.last!)"
            try await policy.run(what) {
                let answer = try await exchange.send(.POST, endpoint, headers: [("Content-Type", "application/xml; charset=utf-8")], body: bytes, limiter: nil)
                guard answer.status == 200 else { throw HTTPExchange.statusError(answer, "HTTP \(answer.status) from \(endpoint)") }
                try Self.check(answer.body, expected: ids.count)
            }
        }
    }

    /// Every Response must say OK; the first error's message otherwise.
    static func check(_ body: [UInt8], expected: Int) throws {
        var parser = XMLPullParser()
        parser.feed(body)
        parser.finish()
        var path: [String] = []
        var text = ""
        var oks = 0
        var message: String? = nil
        do {
            while let event = try parser.next() {
                switch event.kind {
                case .start(let name, _, _): path.append(name); text = ""
                case .text(let t, _): text += t
                case .end(let name):
                    let value = text.trimmingXMLSpace()
                    if name == "Ack", path.count >= 2, path[path.count - 2] == "Response" {
                        if value == "OK" { oks += 1 }
                    }
                    if name == "Message", message == nil, path.contains("Errors") { message = value }
                    path.removeLast()
                    text = ""
                }
            }
        } catch {
            throw FetchError.transient("malformed answer to Order Update: \(error)")
        }
        guard oks == expected else {
            throw FetchError.permanent("Order Update answered \(oks) of \(expected) OK\(message.map { ": \($0)" } ?? "")")
        }
    }
}
