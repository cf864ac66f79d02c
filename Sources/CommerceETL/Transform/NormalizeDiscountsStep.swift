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

public struct NormalizeDiscountsStep: TransformStep {
    static func parse(_ value: ConfigValue) -> (any TransformStep)? {
        if case .mapping = value.node { value.map()?.finish() }
        return NormalizeDiscountsStep()
    }

    public func apply(_ records: [Record]) throws -> [Record] { try records.map(normalize) }

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
                guard let m = Money.minor(d.value, scale: scale) else { throw ETLError("\(id): \(what) \(d) has more digits than \(code) allows (\(scale))") }
                return m
            case .integer(let n)?:
                guard let m = Money.minor(Decimal(n), scale: scale) else { throw ETLError("\(id): \(what) \(n) is too large") }
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
        var problems: [String] = []
        struct Line { var gross: Int64; var discount: Int64; var price: Int64; var quantity: Int; var lineOrder: Int64; var position: Int }
        var lines: [Line] = []
        for (position, value) in itemValues.enumerated() {
            guard case .object(let item) = value else { throw ETLError("\(id): item \(position) is not an object") }
            let price = try minor(item["Price"], "item \(position) Price")
            guard case .integer(let quantity)? = item["Quantity"], quantity >= 0 else {
                throw ETLError("\(id): item \(position) has no whole Quantity")
            }
            let discount = try minor(item["Discount"], "item \(position) Discount", default: 0)
            if case .array(let list)? = item["DiscountList"], !list.isEmpty {
                var sum: Int64 = 0
                for entry in list {
                    if case .object(let e) = entry { sum += try minor(e["DiscountAmount"], "item \(position) DiscountAmount", default: 0) }
                }
                if sum != discount {
                    problems.append("item \(position): DiscountList adds up to \(Money.decimal(minor: sum, scale: scale)) but Discount is \(Money.decimal(minor: discount, scale: scale))")
                }
            }
            var lineOrder = Int64(position)
            if case .integer(let n)? = item["LineOrder"] { lineOrder = n }
            lines.append(Line(gross: price * quantity, discount: discount, price: price, quantity: Int(quantity), lineOrder: lineOrder, position: position))
        }
        let total = try minor(order["TotalDiscount"], "TotalDiscount", default: 0)
        let onLines = lines.reduce(0) { $0 + $1.discount }
        var remainder = total - onLines
        if remainder < 0 {
            problems.append("line discounts (\(Money.decimal(minor: onLines, scale: scale))) exceed TotalDiscount (\(Money.decimal(minor: total, scale: scale)))")
            remainder = 0
        }
        // Ties go to the later line: allocate in (LineOrder, position) order, then map back.
        let order_ = lines.indices.sorted { (lines[$0].lineOrder, lines[$0].position) < (lines[$1].lineOrder, lines[$1].position) }
        var shares = [Int64](repeating: 0, count: lines.count)
        if remainder > 0 {
            if let allocated = Money.allocate(remainder, weights: order_.map { max(0, lines[$0].gross - lines[$0].discount) }) {
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
            let discountTotal = line.discount + shares[i]
            let money = { (m: Int64) in Value.decimal(Money.decimal(minor: m, scale: scale)) }
            item["gross_amount"] = money(line.gross)
            item["line_discount"] = money(line.discount)
            item["order_discount_share"] = money(shares[i])
            item["discount_total"] = money(discountTotal)
            item["net_amount"] = money(line.gross - discountTotal)
            item["unit_net_amounts"] = .array(Money.splitEvenly(discountTotal, count: line.quantity).map { money(line.price - $0) })
            items.append(.object(item))
        }
        out["Items"] = .array(items)
        out["discount_check"] = problems.isEmpty ? .null : .string(problems.joined(separator: "; "))
        return out
    }
}
