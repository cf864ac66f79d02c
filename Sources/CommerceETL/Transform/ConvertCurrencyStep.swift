// `convert_currency` (README: "convert_currency"). Orders are converted by the rule the API
// document implies (amounts are in ChargedCurrency; `OrderTotal * ExchangeRate` is the value in
// Currency), so an order's own rate wins over the table; every amount is rounded once, from an
// exact fraction, so cross rates never pick up an intermediate rounding.
import Foundation
import OrderedCollections
import Yams

public struct ConvertCurrencyStep: StepKind {
    /// ISO 4217 code, or `order` for each order's own `Currency`.
    public var to: String
    /// Source currency of product prices (orders use their ChargedCurrency).
    public var from: String?
    /// Rates against one base currency, inline; or `ratesFile`, read when the run starts.
    public var table: RateTable?
    public var ratesFile: String?
    /// Amount paths; `*` stands for every element of an array.
    public var fields: [[String]]
    public var rounding: Money.Rounding
    /// Products: replace a price the merchant set in the target currency.
    public var overwrite: Bool

    public static let orderMoneyFields = [
        "OrderTotal", "OrderSubtotal", "OrderTax", "ShippingCost", "ShippingTax", "CustomShippingCost", "CouponDiscount",
        "OrderDiscount", "PriceBreakDiscount", "LoyaltyDiscount", "TotalDiscount", "Items.*.Price", "Items.*.Tax",
        "Items.*.Discount", "Items.*.DiscountList.*.DiscountAmount", "Transactions.*.Amount",
    ]
    static let priceFields = ["Price", "PriceRRP", "PriceWas", "PriceBundle"]

    public static let name = "convert_currency"
    enum Keys {
        static let to = Key.string("to", required: true, doc: "an ISO 4217 code, or `order` for each order's own `Currency`", example: "GBP")
        static let rates = Key.custom("rates", .either(.string, .options([RateTable.Keys.base.spec, RateTable.Keys.rates])),
            doc: "`{ base: EUR, rates: { GBP: 0.8478 } }` inline, or the path of a YAML/JSON file of that shape (read when the run starts); rates are units of each currency per one `base`, and cross rates go through the base",
            example: "samples/rates/eur-base.yml") { (rates: ConfigValue) -> RateSource? in
            if case .scalar = rates.node { return rates.string().map(RateSource.file) }
            return rates.map().flatMap(RateTable.parse).map(RateSource.table)
        }
        static let fields = Key.strings("fields", default: "every Aurora order amount",
            doc: "the money fields to convert, as dotted paths where `*` is every array element; by default "
                + orderMoneyFields.map { "`\($0)`" }.joined(separator: ", "), example: "[OrderTotal, Items.*.Price]")
        static let rounding = Key.choice("rounding", Money.Rounding.allCases.map(\.rawValue), doc: "how the one rounding to the target's minor units goes").defaulting("half_up")
        static let from = Key.string("from", doc: "products only: the currency product prices are converted from", example: "EUR")
        static let overwrite = Key.boolean("overwrite", doc: "products: replace a price the merchant set in the target currency").defaulting(false)
    }
    public static let value = OptionSpec(name, .options([Keys.to.spec, Keys.rates.spec, Keys.fields.spec, Keys.rounding.spec, Keys.from.spec, Keys.overwrite.spec]),
                                         doc: "every money field of an order (or product prices) in one currency, exact to the minor unit",
                                         example: "{ to: GBP, rates: samples/rates/eur-base.yml }")

    enum RateSource: Sendable {
        case file(String)
        case table(RateTable)
    }

    public static func parse(_ value: ConfigValue) -> (any TransformStep)? {
        guard let config = value.map() else { return nil }
        let to = config.read(Keys.to)
        if let to, to != "order", !Self.isCode(to) {
            config.value(Keys.to.spec)?.error("'\(config.path).to' must be an ISO 4217 code such as EUR, or 'order', found \(config.shown(Keys.to, to))")
        }
        let from = config.read(Keys.from)
        if let from, !Self.isCode(from) { config.value(Keys.from.spec)?.error("'\(config.path).from' must be an ISO 4217 code, found \(config.shown(Keys.from, from))") }
        var table: RateTable? = nil
        var ratesFile: String? = nil
        switch config.read(Keys.rates) {
        case .file(let path)?: ratesFile = path
        case .table(let t)?: table = t
        case nil: break
        }
        let fields = (config.read(Keys.fields) ?? Self.orderMoneyFields).map { $0.split(separator: ".").map(String.init) }
        let rounding = Money.Rounding(rawValue: config.read(Keys.rounding))
        let overwrite = config.read(Keys.overwrite)
        config.finish()
        guard let to, let rounding else { return nil }
        return ConvertCurrencyStep(to: to.uppercased() == "ORDER" ? "order" : to.uppercased(), from: from?.uppercased(), table: table,
                                   ratesFile: ratesFile, fields: fields, rounding: rounding, overwrite: overwrite)
    }

    static func isCode(_ s: String) -> Bool { s.count == 3 && s.allSatisfy(\.isLetter) }

    public func prepared(for run: RunContext) throws -> any TransformStep {
        guard let ratesFile else { return self }
        var copy = self
        copy.table = try RateTable.load(AtomicFile.resolve(ratesFile, in: run.workingDirectory), shown: ratesFile)
        return copy
    }

    public func output(for input: RecordKind) throws -> RecordKind? {
        guard !input.exploded else { throw ETLError("convert_currency converts whole orders or products: put it before the explode step") }
        if input.resource == "products", from == nil {
            throw ETLError("products carry no currency of their own: add 'from:' with the currency their prices are in (such as from: GBP)")
        }
        return input
    }

    public func apply(_ records: [Record]) throws -> [Record] {
        try records.map { record in
            if record["ProductPrices"] != nil, record["ChargedCurrency"] == nil { return try convertProduct(record) }
            return try convertOrder(record)
        }
    }

    private func describe(_ record: Record) -> String {
        for key in ["OrderID", "ProductID", "id"] { if let v = record[key]?.flatText { return "\(key) \(v)" } }
        return "record"
    }

    private func convertOrder(_ record: Record) throws -> Record {
        guard let from = (record["ChargedCurrency"] ?? record["Currency"])?.flatText?.uppercased(), Self.isCode(from) else {
            throw ETLError("\(describe(record)): no ChargedCurrency to convert from")
        }
        let currency = record["Currency"]?.flatText?.uppercased()
        let target = to == "order" ? (currency ?? from) : to
        let rate: ExactRate
        let source: String
        if target == from {
            rate = ExactRate(1)
            source = "none"
        } else if target == currency, case .decimal(let r)? = record["ExchangeRate"] {
            rate = ExactRate(r.value)
            source = "order"
        } else if target == currency, case .integer(let r)? = record["ExchangeRate"] {
            rate = ExactRate(Decimal(r))
            source = "order"
        } else {
            guard let table, let r = table.rate(from: from, to: target) else {
                throw ETLError("\(describe(record)): no rate from \(from) to \(target)\(table == nil ? " (the order carries no ExchangeRate for it and the step has no rates)" : " in the rate table")")
            }
            rate = r
            source = "table"
        }
        guard rate.numerator > 0 else {
            throw ETLError("\(describe(record)): ExchangeRate \(ExactDecimal(rate.numerator)) is not a positive rate")
        }
        var out = record
        let scale = Money.minorUnits(target)
        var sent: [String] = []
        if source != "none" {
            for path in fields { try convert(&out, path[...], rate: rate, scale: scale) }
            if fields == Self.orderMoneyFields.map({ $0.split(separator: ".").map(String.init) }) {
                sent = Self.discountListProblems(record, currency: from)
                try keepPartsAddingUp(original: record, converted: &out, rate: rate, scale: scale)
            }
        }
        var conversion: Record = ["from": .string(from), "to": .string(target), "rate": .decimal(ExactDecimal(rate.shown)), "source": .string(source)]
        // Re-splitting the lists makes them add up after conversion; what did not add up as the
        // store sent it is kept here for `normalize_discounts`' discount_check.
        if !sent.isEmpty { conversion["discount_check"] = .string(sent.joined(separator: "; ")) }
        out["conversion"] = .object(conversion)
        return out
    }

    /// Items whose DiscountList does not add up to their Discount, in the currency the store sent.
    static func discountListProblems(_ order: Record, currency: String) -> [String] {
        guard case .array(let items)? = order["Items"] else { return [] }
        var problems: [String] = []
        for (position, value) in items.enumerated() {
            guard case .object(let item) = value, case .array(let list)? = item["DiscountList"], !list.isEmpty else { continue }
            var sum: Decimal = 0
            for case .object(let entry) in list { sum += amount(entry["DiscountAmount"]) ?? 0 }
            let discount = amount(item["Discount"]) ?? 0
            if sum != discount {
                let scale = Money.minorUnits(currency)
                problems.append("item \(position): DiscountList adds up to \(ExactDecimal(sum, scale: scale)) but Discount is \(ExactDecimal(discount, scale: scale)) (\(currency), as the store sent it)")
            }
        }
        return problems
    }

    static func amount(_ v: Value?) -> Decimal? {
        switch v {
        case .decimal(let d)?: d.value
        case .integer(let n)?: Decimal(n)
        default: nil
        }
    }

    /// Rounding each amount on its own can leave parts that no longer add up to their whole
    /// (a penny either way). For Aurora orders, a line's DiscountList is re-split from the line's
    /// converted Discount, and TotalDiscount becomes the converted line discounts plus the
    /// converted order-level remainder, so `normalize_discounts` sees consistent figures.
    private func keepPartsAddingUp(original: Record, converted out: inout Record, rate: ExactRate, scale: Int) throws {
        let amount = Self.amount
        guard case .array(let sourceItems)? = original["Items"], case .array(var items)? = out["Items"] else { return }
        var lineDiscounts: Decimal = 0
        var convertedLineDiscounts: Int64 = 0
        for (i, value) in items.enumerated() {
            guard case .object(var item) = value, case .object(let sourceItem) = sourceItems[i] else { continue }
            lineDiscounts += amount(sourceItem["Discount"]) ?? 0
            guard let discount = amount(item["Discount"]), let minorDiscount = Money.minor(discount, scale: scale) else { continue }
            let (sum, overflow) = convertedLineDiscounts.addingReportingOverflow(minorDiscount)
            guard !overflow else { throw ETLError("Items.*.Discount: the line discounts add up beyond the exact range") }
            convertedLineDiscounts = sum
            if case .array(var list)? = item["DiscountList"], case .array(let sourceList)? = sourceItem["DiscountList"], !list.isEmpty {
                let weights = sourceList.map { v -> Int64 in
                    guard case .object(let e) = v, let a = amount(e["DiscountAmount"]) else { return 0 }
                    return Money.minor(a, scale: 6) ?? 0
                }
                if let parts = Money.allocate(minorDiscount, weights: weights) {
                    for (k, part) in parts.enumerated() {
                        guard case .object(var entry) = list[k], entry["DiscountAmount"] != nil else { continue }
                        entry["DiscountAmount"] = .decimal(Money.decimal(minor: part, scale: scale))
                        list[k] = .object(entry)
                    }
                    item["DiscountList"] = .array(list)
                    items[i] = .object(item)
                }
            }
        }
        out["Items"] = .array(items)
        if let total = amount(original["TotalDiscount"]) {
            guard let rest = Money.convert(total - lineDiscounts, times: rate.numerator, over: rate.denominator, scale: scale, rounding) else {
                throw ETLError("TotalDiscount \(ExactDecimal(total)) is beyond the exact range of the conversion")
            }
            let restMinor = Money.minor(rest, scale: scale) ?? 0
            let (sum, overflow) = convertedLineDiscounts.addingReportingOverflow(restMinor)
            guard !overflow else { throw ETLError("TotalDiscount is beyond the exact range of the conversion") }
            out["TotalDiscount"] = .decimal(Money.decimal(minor: sum, scale: scale))
        }
    }

    private func convert(_ record: inout Record, _ path: ArraySlice<String>, rate: ExactRate, scale: Int) throws {
        guard let key = path.first, let value = record[key] else { return }
        record[key] = try convert(value, path.dropFirst(), rate: rate, scale: scale, field: key)
    }

    private func convert(_ value: Value, _ rest: ArraySlice<String>, rate: ExactRate, scale: Int, field: String) throws -> Value {
        if rest.isEmpty {
            let amount: Decimal
            switch value {
            case .null: return .null
            case .decimal(let d): amount = d.value
            case .integer(let n): amount = Decimal(n)
            default: throw ETLError("\(field) is \(value.kindName), not an amount")
            }
            guard let converted = Money.convert(amount, times: rate.numerator, over: rate.denominator, scale: scale, rounding),
                  Money.minor(converted, scale: scale) != nil else {
                throw ETLError("\(field) \(ExactDecimal(amount)) is beyond the exact range of the conversion")
            }
            return .decimal(ExactDecimal(converted, scale: scale))
        }
        switch value {
        case .array(let items) where rest.first == "*":
            return .array(try items.map { try convert($0, rest.dropFirst(), rate: rate, scale: scale, field: field) })
        case .object(var inner):
            try convert(&inner, rest, rate: rate, scale: scale)
            return .object(inner)
        default:
            return value
        }
    }

    private func convertProduct(_ record: Record) throws -> Record {
        guard let from else { throw ETLError("\(describe(record)): converting product prices needs 'from' (the currency to convert from)") }
        let target = to == "order" ? from : to
        guard target != from else { return record }
        guard let table, let rate = table.rate(from: from, to: target) else {
            throw ETLError("\(describe(record)): no rate from \(from) to \(target) in the rate table")
        }
        let scale = Money.minorUnits(target)
        var out = record
        out["ProductPrices"] = try convertPrices(record["ProductPrices"], from: from, to: target, rate: rate, scale: scale)
        if case .array(let variations)? = record["Variations"] {
            out["Variations"] = .array(try variations.map { v in
                guard case .object(var variation) = v, variation["VariationPrices"] != nil else { return v }
                variation["VariationPrices"] = try convertPrices(variation["VariationPrices"], from: from, to: target, rate: rate, scale: scale)
                return .object(variation)
            })
        }
        out["conversion"] = .object(["from": .string(from), "to": .string(target), "rate": .decimal(ExactDecimal(rate.shown)), "source": .string("table")])
        return out
    }

    private func convertPrices(_ list: Value?, from: String, to target: String, rate: ExactRate, scale: Int) throws -> Value? {
        guard case .array(var entries)? = list else { return list }
        func iso(_ v: Value) -> String? { if case .object(let r) = v { r["ISO"]?.flatText?.uppercased() } else { nil } }
        guard let source = entries.first(where: { iso($0) == from }), case .object(let sourceEntry) = source else { return list }
        let existing = entries.firstIndex { iso($0) == target }
        if existing != nil, !overwrite { return list }
        var converted = Record()
        for (key, value) in sourceEntry.fields {
            if key == "ISO" {
                converted["ISO"] = .string(target)
            } else if Self.priceFields.contains(key) {
                converted[key] = try convert(value, [], rate: rate, scale: scale, field: key)
            } else {
                converted[key] = value
            }
        }
        converted["converted"] = .bool(true)
        if let existing { entries[existing] = .object(converted) } else { entries.append(.object(converted)) }
        return .array(entries)
    }
}
