// Order Get and Product Get filters, as aurora-xml-api-order.txt and -product.txt describe them.
import CommerceETL

/// `Interval` (an ISO 8601 duration back from now, minus `offset`, default PT10S) or
/// `DateStart`/`DateEnd` (whole days, UTC), checked against the `date` attribute's field:
/// created, modified, or both (either may match; the default).
struct DateWindow {
    var from: Int64 = .min
    var to: Int64 = .max
    var field = "both"

    init(_ method: XMLNode, now: Int64) throws {
        let interval = method.child("Interval")
        let start = method.child("DateStart")
        let end = method.child("DateEnd")
        if interval != nil, start != nil {
            throw APIError(code: 1004, "only one of <Interval> or <DateStart> is permitted")
        }
        if let node = interval ?? start ?? end, let date = node.attributes["date"] {
            guard ["created", "modified", "both"].contains(date) else {
                throw APIError(code: 1003, "the date attribute of <\(node.name)> must be created, modified or both, found '\(date)'")
            }
            field = date
        }
        if let interval {
            let offset = try interval.attributes["offset"].map { try Duration8601(parsing: $0) } ?? Duration8601(seconds: 10)
            let end = offset.subtract(from: now)
            from = try Duration8601(parsing: interval.value).subtract(from: end)
            to = end
        }
        if let start { from = try Self.day(start) }
        if let end { to = try Self.day(end) + 86_399 }
    }

    private static func day(_ node: XMLNode) throws -> Int64 {
        guard case .date(let d)? = DateParser.parse(node.value) else {
            throw APIError(code: 1003, "<\(node.name)> must be a date as yyyy-mm-dd, found '\(node.value)'")
        }
        return d.daysSinceEpoch * 86_400
    }

    func matches(created: Int64, modified: Int64) -> Bool {
        let c = (from...to).contains(created), m = (from...to).contains(modified)
        switch field {
        case "created": return c
        case "modified": return m
        default: return c || m
        }
    }
}

/// `P1Y2M3DT4H5M6S`: years and months move the calendar date; the rest are fixed lengths.
struct Duration8601 {
    var years = 0, months = 0, days = 0
    var seconds: Int64 = 0

    init(seconds: Int64) { self.seconds = seconds }

    init(parsing text: String) throws {
        let fail = APIError(code: 1003, "'\(text)' is not an ISO 8601 duration such as P1Y, P1M, PT10S or P1DT2H")
        guard text.hasPrefix("P"), text.count > 1 else { throw fail }
        var number = ""
        var inTime = false
        var any = false
        for ch in text.dropFirst() {
            if ch.isNumber { number.append(ch); continue }
            if ch == "T" {
                guard !inTime, number.isEmpty else { throw fail }
                inTime = true
                continue
            }
            guard let n = Int(number) else { throw fail }
            number = ""
            any = true
            switch (ch, inTime) {
            case ("Y", false): years = n
            case ("M", false): months = n
            case ("W", false): days += 7 * n
            case ("D", false): days += n
            case ("H", true): seconds += Int64(n) * 3600
            case ("M", true): seconds += Int64(n) * 60
            case ("S", true): seconds += Int64(n)
            default: throw fail
            }
        }
        guard any, number.isEmpty else { throw fail }
    }

    func subtract(from epoch: Int64) -> Int64 {
        var days = floorDivide(epoch, 86_400)
        let timeOfDay = epoch - days * 86_400
        if years != 0 || months != 0 {
            let d = CalendarDate(daysSinceEpoch: days)
            let total = d.year * 12 + (d.month - 1) - years * 12 - months
            let year = total >= 0 ? total / 12 : (total - 11) / 12
            let month = total - year * 12 + 1
            let first = CalendarDate(year: year, month: month, day: 1).daysSinceEpoch
            let next = CalendarDate(year: month == 12 ? year + 1 : year, month: month == 12 ? 1 : month + 1, day: 1).daysSinceEpoch
            days = first + Int64(min(d.day, Int(next - first))) - 1
        }
        return (days - Int64(self.days)) * 86_400 + timeOfDay - seconds
    }
}

private func floorDivide(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : (a - b + 1) / b }

struct OrderFilter {
    var orderIDs: Set<Int>?
    var customerID: Int?
    var statusIDs: [(id: Int, include: Bool)] = []
    var statuses: [(name: String, include: Bool)] = []
    var payment: (type: String, include: Bool)?

    init(_ method: XMLNode) throws {
        if let ids = method.child("OrderIDs") {
            orderIDs = Set(try ids.all("OrderID").map { try Self.int($0) })
        }
        if let c = method.child("CustomerID") {
            guard orderIDs == nil else { throw APIError(code: 1004, "<CustomerID> cannot be used in conjunction with <OrderIDs>") }
            customerID = try Self.int(c)
        }
        if let s = method.child("OrderStatuses") {
            for child in s.children {
                let include = try Self.condition(child)
                switch child.name {
                case "StatusID": statusIDs.append((try Self.int(child), include))
                case "OrderStatus": statuses.append((child.value, include))
                default: throw APIError(code: 1001, "unknown element <\(child.name)> in <OrderStatuses>")
                }
            }
        }
        if let p = method.child("PaymentType") { payment = (p.value, try Self.condition(p)) }
    }

    static func int(_ node: XMLNode) throws -> Int {
        guard let n = Int(node.value) else { throw APIError(code: 1003, "<\(node.name)> must be an integer, found '\(node.value)'") }
        return n
    }

    static func condition(_ node: XMLNode) throws -> Bool {
        switch node.attributes["condition"]?.uppercased() {
        case nil, "IS": return true
        case "NOT": return false
        case let other?: throw APIError(code: 1003, "the condition attribute of <\(node.name)> must be IS or NOT, found '\(other)'")
        }
    }

    /// Status conditions: a status must match every NOT and, if any IS is given, one IS.
    private static func passes<T: Equatable>(_ value: T, _ rules: [(T, Bool)]) -> Bool {
        if rules.contains(where: { !$0.1 && $0.0 == value }) { return false }
        let includes = rules.filter(\.1)
        return includes.isEmpty || includes.contains { $0.0 == value }
    }

    func matches(_ h: OrderHeader) -> Bool {
        if let orderIDs, !orderIDs.contains(h.id) { return false }
        if let customerID, customerID != h.customerID { return false }
        guard Self.passes(h.statusID, statusIDs), Self.passes(h.status.lowercased(), statuses.map { ($0.name.lowercased(), $0.include) }) else { return false }
        if let payment, (payment.type.lowercased() == h.paymentType.lowercased()) != payment.include { return false }
        return true
    }
}

struct ProductFilter {
    var ids: Set<Int>?
    var references: Set<String>?
    var display: Bool?

    init(_ method: XMLNode) throws {
        if let ids = method.child("ProductIDs") { self.ids = Set(try ids.all("ProductID").map { try OrderFilter.int($0) }) }
        if let refs = method.child("ProductReferences") {
            guard ids == nil else { throw APIError(code: 1004, "only one of <ProductReferences> or <ProductIDs> is permitted") }
            references = Set(refs.all("ProductReference").map(\.value))
        }
        if let d = method.child("DisplayProduct") {
            switch d.value {
            case "1": display = true
            case "0": display = false
            default: throw APIError(code: 1003, "<DisplayProduct> must be 1 or 0, found '\(d.value)'")
            }
        }
    }

    func matches(_ h: ProductHeader) -> Bool {
        if let ids, !ids.contains(h.id) { return false }
        if let references, !references.contains(h.reference) { return false }
        if let display, display != h.display { return false }
        return true
    }
}
