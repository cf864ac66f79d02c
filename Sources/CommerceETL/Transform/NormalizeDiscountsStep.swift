// `normalize_discounts`: revenue per order line that adds up to the penny (on order records,
// before `explode`).
//
//   - normalize_discounts: {}
//
// Each item gains `gross_amount` (Price x Quantity), `line_discount` (its Discount, a per-line
// total), `order_discount_share` (its part of the order-level discount not already on the lines,
// TotalDiscount - sum of line discounts, allocated in proportion to gross - line discount by the
// largest-remainder method in the currency's minor units, ties to the later line), `discount_total`,
// `net_amount`, and `unit_net_amounts` (the net split over the units; the extra minor units of the
// discount go to the last units, so the first units carry the extra penny of net). The order gains
// `discount_check`: null when consistent, else what does not add up. Amounts are in the order's
// charged currency (or `conversion.to` after `convert_currency`).
import Foundation
import OrderedCollections

public struct NormalizeDiscountsStep: StepKind {
    public static let name = "normalize_discounts"
    public static let value = OptionSpec(name, .options([]), doc: "revenue per line that adds up to the penny, in the order's currency (on orders, before `explode`)", example: "{}")

    public static func parse(_ value: ConfigValue) -> (any TransformStep)? {
        if case .mapping = value.node { value.map()?.finish() }
        return NormalizeDiscountsStep()
    }

    /// The most units of one line whose net amounts are listed one by one.
    static let maxUnits: Int64 = 10_000

    public func apply(_ records: [Record]) throws -> [Record] { try records.map(normalize) }

    public func output(for input: RecordKind) throws -> RecordKind? {
        guard input.resource == "orders" else { throw ETLError("normalize_discounts works on orders (their Items and discounts), not \(input.resource)") }
        guard !input.exploded else { throw ETLError("normalize_discounts needs whole orders: put it before the explode step") }
        return input
    }

    private func currency(of order: Record) -> String {
        if case .object(let c)? = order["conversion"], let to = c["to"]?.flatText { return to }
        return (order["ChargedCurrency"] ?? order["Currency"])?.flatText ?? "XXX"
    }

    private func normalize(_ order: Record) throws -> Record {
        let code = currency(of: order)
        let scale = Money.minorUnits(code)
        let id = order["OrderID"]?.flatText.map { "OrderID \($0)" } ?? "order"
        func minor(_ value: Value?, _ what: String, default fallback: Int64? = nil) throws -> Int64 {
            switch value {
            case .decimal(let d)?:
                guard let m = Money.minor(d.value, scale: scale) else {
                    if Money.minor(Money.round(d.value, scale: scale, .halfUp), scale: scale) == nil {
                        throw ETLError("\(id): \(what) \(d) is beyond the exact range of \(code) amounts (\(Int64.max) minor units)")
                    }
                    throw ETLError("\(id): \(what) \(d) has more digits than \(code) allows (\(scale))")
                }
                return m
            case .integer(let n)?:
                guard let m = Money.minor(Decimal(n), scale: scale) else { throw ETLError("\(id): \(what) \(n) is beyond the exact range of \(code) amounts") }
                return m
            case nil, .null?:
                if let fallback { return fallback }
                throw ETLError("\(id): \(what) is missing")
            case let other?:
                throw ETLError("\(id): \(what) is \(other.kindName), not an amount")
            }
        }
        guard case .array(let itemValues)? = order["Items"] else {
            throw ETLError("\(id): no Items to normalize")
        }
        // Checked arithmetic: amounts from outside never trap, and never wrap into wrong figures.
        func checked(_ result: (partialValue: Int64, overflow: Bool), _ what: @autoclosure () -> String) throws -> Int64 {
            if result.overflow { throw ETLError("\(id): \(what()) is beyond the exact range of \(code) amounts") }
            return result.partialValue
        }
        // What did not add up as the store sent it, when `convert_currency` re-split the lists.
        var problems: [String] = []
        var sentChecked = false
        if case .object(let c)? = order["conversion"], case .string(let sent)? = c["discount_check"] {
            problems.append(sent)
            sentChecked = true
        }
        struct Line { var gross: Int64; var discount: Int64; var price: Int64; var quantity: Int; var lineOrder: Int64; var position: Int }
        var lines: [Line] = []
        for (position, value) in itemValues.enumerated() {
            guard case .object(let item) = value else { throw ETLError("\(id): item \(position) is not an object") }
            let price = try minor(item["Price"], "item \(position) Price")
            guard case .integer(let quantity)? = item["Quantity"], quantity >= 0 else {
                throw ETLError("\(id): item \(position) has no whole Quantity")
            }
            guard quantity <= Self.maxUnits else {
                throw ETLError("\(id): item \(position) Quantity \(quantity) is more than the \(Self.maxUnits) units unit_net_amounts lists one by one")
            }
            let discount = try minor(item["Discount"], "item \(position) Discount", default: 0)
            if !sentChecked, case .array(let list)? = item["DiscountList"], !list.isEmpty {
                var sum: Int64 = 0
                for entry in list {
                    if case .object(let e) = entry {
                        sum = try checked(sum.addingReportingOverflow(try minor(e["DiscountAmount"], "item \(position) DiscountAmount", default: 0)),
                                          "item \(position) DiscountList")
                    }
                }
                if sum != discount {
                    problems.append("item \(position): DiscountList adds up to \(Money.decimal(minor: sum, scale: scale)) but Discount is \(Money.decimal(minor: discount, scale: scale))")
                }
            }
            var lineOrder = Int64(position)
            if case .integer(let n)? = item["LineOrder"] { lineOrder = n }
            let gross = try checked(price.multipliedReportingOverflow(by: quantity), "item \(position) Price x Quantity")
            if discount > gross {
                problems.append("item \(position): Discount \(Money.decimal(minor: discount, scale: scale)) is more than the line's \(Money.decimal(minor: gross, scale: scale))")
            }
            lines.append(Line(gross: gross, discount: discount, price: price, quantity: Int(quantity), lineOrder: lineOrder, position: position))
        }
        let total = try minor(order["TotalDiscount"], "TotalDiscount", default: 0)
        var onLines: Int64 = 0
        for line in lines { onLines = try checked(onLines.addingReportingOverflow(line.discount), "the sum of line discounts") }
        var remainder = try checked(total.subtractingReportingOverflow(onLines), "TotalDiscount less the line discounts")
        if remainder < 0 {
            problems.append("line discounts (\(Money.decimal(minor: onLines, scale: scale))) exceed TotalDiscount (\(Money.decimal(minor: total, scale: scale)))")
            remainder = 0
        }
        // Ties go to the later line: allocate in (LineOrder, position) order, then map back.
        let order_ = lines.indices.sorted { (lines[$0].lineOrder, lines[$0].position) < (lines[$1].lineOrder, lines[$1].position) }
        var shares = [Int64](repeating: 0, count: lines.count)
        if remainder > 0 {
            if let allocated = Money.allocate(remainder, weights: try order_.map { try checked(lines[$0].gross.subtractingReportingOverflow(lines[$0].discount), "item \($0) net amount") }) {
                for (k, index) in order_.enumerated() { shares[index] = allocated[k] }
            } else {
                problems.append("the order discount of \(Money.decimal(minor: remainder, scale: scale)) not on the lines has no line with a net amount to carry it")
            }
        }
        var out = order
        var items: [Value] = []
        for (i, value) in itemValues.enumerated() {
            guard case .object(var item) = value else { continue }
            let line = lines[i]
            let discountTotal = try checked(line.discount.addingReportingOverflow(shares[i]), "item \(i) discount total")
            let money = { (m: Int64) in Value.decimal(Money.decimal(minor: m, scale: scale)) }
            item["gross_amount"] = money(line.gross)
            item["line_discount"] = money(line.discount)
            item["order_discount_share"] = money(shares[i])
            item["discount_total"] = money(discountTotal)
            item["net_amount"] = money(try checked(line.gross.subtractingReportingOverflow(discountTotal), "item \(i) net amount"))
            item["unit_net_amounts"] = .array(try Money.splitEvenly(discountTotal, count: line.quantity).map {
                money(try checked(line.price.subtractingReportingOverflow($0), "item \(i) unit net amount"))
            })
            items.append(.object(item))
        }
        out["Items"] = .array(items)
        out["discount_check"] = problems.isEmpty ? .null : .string(problems.joined(separator: "; "))
        return out
    }
}
