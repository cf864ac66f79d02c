// Generates the demo store's orders. The header (what filters look at) is cheap; the full order
// is rendered straight to XML in the shape of the Order Get example of aurora-xml-api-order.txt.

struct OrderHeader: Sendable {
    var index: Int
    var id: Int
    var customerID: Int
    var statusID: Int
    var status: String
    var paymentType: String
    var created: Int64
    var modified: Int64
    var version: Int
}

enum OrderGenerator {
    static let statuses = [(1, "Pending"), (2, "Processing"), (3, "Despatched"), (4, "Cancelled"), (5, "Completed"), (6, "On Hold")]
    static let paymentTypes = ["card", "card", "card", "PayPal", "api", "Amazon Pay"]
    /// Charged in GBP; taken in these currencies at roughly these rates (ExchangeRate = Currency per GBP).
    static let currencies: [(code: String, rate: Int, scale: Int)] = [
        ("GBP", 10000, 4), ("EUR", 11634, 4), ("USD", 12705, 4), ("JPY", 1874200, 4), ("KWD", 3871, 4),
    ]
    static let firstOrderID = 1_000_000
    static let history: Int64 = 3 * 365 * 86_400

    static func header(index: Int, config: DemoStoreConfig, version: Int = 0, modifiedOverride: Int64? = nil) -> OrderHeader {
        var r = SeededRandom(seed: config.seed, stream: 1, index: UInt64(index))
        let span = history / Int64(max(config.orders, 1))
        let created = config.epoch - history + Int64(index) * span + Int64(r.next() % UInt64(max(span, 1)))
        let modified = min(config.epoch - 60, created + Int64(r.int(0...20 * 86_400)))
        let baseStatus = r.int(0...statuses.count - 1)
        let status = statuses[(baseStatus + version) % statuses.count]
        return OrderHeader(index: index, id: firstOrderID + index, customerID: 20_000 + r.int(0...max(1, config.orders / 3)),
                           statusID: status.0, status: status.1, paymentType: r.pick(paymentTypes),
                           created: created, modified: modifiedOverride ?? max(modified, created), version: version)
    }

    /// DetailLevel Status: the order's status and its lines' statuses only.
    static func renderStatus(_ h: OrderHeader, config: DemoStoreConfig, into x: inout XMLBuilder) {
        var r = SeededRandom(seed: config.seed, stream: 2, index: UInt64(h.index))
        x.open("Order")
        x.leaf("OrderID", h.id)
        x.leaf("OrderStatus", h.status)
        x.leaf("DateCreated", DemoDates.iso(h.created))
        x.leaf("DateModified", DemoDates.iso(h.modified))
        x.open("Items")
        let count = itemCount(&r)
        for line in 0..<count {
            x.open("Item")
            x.leaf("OrderItemID", 5_000_000 + h.index * 8 + line)
            x.leaf("LineOrder", line)
            x.open("LineStatus")
            x.leaf("StatusCode", lineStatus(h, line))
            x.close("LineStatus")
            x.close("Item")
        }
        x.close("Items")
        x.close("Order")
    }

    private static func itemCount(_ r: inout SeededRandom) -> Int {
        r.chance(0.02) ? 0 : r.chance(0.6) ? r.int(1...2) : r.int(3...7)
    }

    private static func lineStatus(_ h: OrderHeader, _ line: Int) -> String {
        switch h.status {
        case "Despatched", "Completed": line % 5 == 4 ? "CAN" : "DES"
        case "Cancelled": "CAN"
        default: "ACK"
        }
    }

    static func renderFull(_ h: OrderHeader, config: DemoStoreConfig, into x: inout XMLBuilder) {
        var r = SeededRandom(seed: config.seed, stream: 2, index: UInt64(h.index))
        let count = itemCount(&r)
        let currency = r.chance(0.4) ? currencies[0] : r.pick(currencies)
        // Small daily drift in the rate, 4 decimals as the documents show.
        let rate = currency.code == "GBP" ? 10000 : currency.rate + r.int(-150...150) * (currency.rate / 10000 + 1) / 10
        let taxRate = r.chance(0.8) ? 20 : 0

        x.open("Order")
        x.leaf("OrderID", h.id)
        x.leaf("CustomerID", h.customerID)
        x.leaf("OrderStatus", h.status)
        x.leaf("PaymentType", h.paymentType)

        // Addresses: billing and shipping, sometimes in different countries.
        let billing = TextPools.countries[r.chance(0.5) ? 0 : r.int(0...TextPools.countries.count - 1)]
        let shippingCountry = r.chance(0.8) ? billing : r.pick(TextPools.countries)
        let first = r.pick(TextPools.firstNames), last = r.pick(TextPools.lastNames)
        let email = "customer\(h.customerID)@example.com"
        x.open("Addresses")
        for (n, (type, country)) in [("BT", billing), ("ST", shippingCountry)].enumerated() {
            x.open("Address")
            x.leaf("AddressID", 2_000_000 + h.index * 2 + n)
            x.leaf("CustomerID", h.customerID)
            x.leaf("StorageType", "I")
            x.leaf("AddressType", type)
            x.leaf("EmailAddress", email)
            x.leaf("OptOut", r.chance(0.3) ? "1" : "0")
            x.leaf("Gender", r.chance(0.5) ? "female" : "male")
            let company = r.pick(TextPools.companies)
            x.leaf("CompanyName", company.isEmpty ? "" : company)
            x.leaf("Title", r.chance(0.3) ? nil : r.pick(["Mr", "Mrs", "Ms", "Miss", "Dr"]))
            x.leaf("FirstName", first)
            x.leaf("LastName", last)
            x.leaf("AddressLine1", r.pick(TextPools.streets))
            x.leaf("AddressLine2", r.chance(0.7) ? "" : "Unit \(r.int(1...40))")
            x.leaf("Town", r.pick(["Wigan", "Besançon", "Tōkyō", "München", "Boston", "القاهرة", "Kuwait City"]))
            x.leaf("County", "")
            x.leaf("PostCode", country.postcode)
            x.open("Country")
            x.leaf("ID", country.id)
            x.leaf("ISO", country.iso)
            x.leaf("Name", country.name)
            x.close("Country")
            x.leaf("PhoneNumber", "0" + r.digits(10))
            x.leaf("MobileNumber", r.chance(0.5) ? "" : "07" + r.digits(9))
            x.close("Address")
        }
        x.close("Addresses")
        x.leaf("CourierName", r.pick(["Royal Mail", "DHL", "DPD", "Yodel"]))
        x.leaf("ShippingType", r.pick(["Standard", "Express", "Next Day"]))
        x.leaf("TrackingNumber", h.status == "Despatched" || h.status == "Completed" ? r.digits(4) + " " + r.digits(4) + " " + r.digits(4) : "")
        // Most orders are charged in GBP; some euro orders are charged and taken in EUR (rate 1).
        let chargedInEuro = currency.code == "EUR" && h.index % 5 == 0
        x.leaf("ChargedCurrency", chargedInEuro ? "EUR" : "GBP")
        x.leaf("Currency", currency.code)
        x.leaf("ExchangeRate", chargedInEuro ? "1.0000" : fourDecimals(rate))
        x.leaf("TaxRate", "\(taxRate).00")
        x.leaf("ShippingSku", r.chance(0.5) ? "" : "SHIP-\(r.int(1...9))")

        // Lines first, so the totals add up.
        var lines: [(price: Int, qty: Int, discount: Int, tax: Int, parts: [Int])] = []
        for _ in 0..<count {
            let price = r.int(199...9999)
            let qty = r.chance(0.7) ? 1 : r.int(2...5)
            var discount = 0
            var parts: [Int] = []
            if r.chance(0.3) {
                // Often not divisible by the quantity: 1.00 off three units.
                discount = max(1, price * qty / r.int(4...20))
                if r.chance(0.4), discount > 1 {
                    let first = discount / 3 + 1
                    parts = [first, discount - first]
                } else {
                    parts = [discount]
                }
            }
            let gross = price * qty - discount
            lines.append((price, qty, discount, gross * taxRate / (100 + taxRate), parts))
        }
        let itemsTotal = lines.reduce(0) { $0 + $1.price * $1.qty - $1.discount }
        let shipping = r.chance(0.3) ? 0 : r.pick([295, 395, 499, 500, 800])
        let shippingTax = shipping * taxRate / (100 + taxRate)
        let coupon = r.chance(0.15) ? min(itemsTotal / 10, 1000) : 0
        let orderDiscount = r.chance(0.1) ? min(itemsTotal / 20, 500) : 0
        let loyalty = r.chance(0.1) ? min(itemsTotal / 50, 250) : 0
        let lineDiscounts = lines.reduce(0) { $0 + $1.discount }
        let total = itemsTotal - coupon - orderDiscount - loyalty + shipping

        x.leaf("ShippingCost", Money.text(shipping))
        x.leaf("ShippingTax", Money.text(shippingTax))
        x.leaf("CustomShippingCost", "0")
        x.leaf("CustomShippingLabel", "")
        x.leaf("OrderTotal", Money.text(total))
        x.leaf("OrderSubtotal", Money.text(itemsTotal))
        x.leaf("OrderTax", Money.text(lines.reduce(0) { $0 + $1.tax } + shippingTax))
        x.leaf("CouponCode", coupon > 0 ? r.pick(["10OFF", "=SPRING10", "+VIP", "WELCOME"]) : "")
        x.leaf("CouponDiscount", Money.text(coupon))
        x.leaf("OrderDiscount", Money.text(orderDiscount))
        x.leaf("PriceBreakDiscount", "0")
        x.leaf("LoyaltyDiscount", Money.text(loyalty))
        x.leaf("TotalDiscount", Money.text(coupon + orderDiscount + loyalty + lineDiscounts))
        x.leaf("InvoiceNotes", r.pick(TextPools.notes))
        x.leaf("CustomerNotes", r.pick(TextPools.notes))
        x.leaf("CustomerSelectedDeliveryDate", r.chance(0.8) ? "0000-00-00 00:00:00" : DemoDates.day(h.created + 5 * 86_400))
        x.leaf("DateDeliveryEstimate", DemoDates.day(h.created + 3 * 86_400) + " 00:00:00")
        let shipped = h.status == "Despatched" || h.status == "Completed"
        x.leaf("DateShipped", shipped ? DemoDates.plain(h.created + 86_400) : "0000-00-00 00:00:00")
        x.leaf("DateCreated", DemoDates.iso(h.created))
        x.leaf("DateModified", DemoDates.iso(h.modified))

        x.open("Items")
        for (n, line) in lines.enumerated() {
            let product = r.int(0...max(0, config.products - 1))
            x.open("Item")
            x.leaf("OrderItemID", 5_000_000 + h.index * 8 + n)
            x.leaf("ProductID", ProductGenerator.firstProductID + product)
            x.leaf("ProductReference", ProductGenerator.reference(product))
            x.leaf("ProductEAN", "0" + r.digits(12))
            x.leaf("VariationID", 7_000_000 + product * 64 + r.int(0...5))
            x.leaf("VariationReference", ProductGenerator.reference(product) + "-" + r.pick(TextPools.sizes))
            x.leaf("VariationEAN", r.chance(0.3) ? "00" + r.digits(11) : r.digits(13))
            x.leaf("BundleID", "")
            x.leaf("Price", Money.text(line.price))
            x.leaf("Tax", Money.text(line.tax))
            x.leaf("Discount", Money.text(line.discount))
            x.leaf("TaxRate", "\(taxRate).00")
            x.leaf("Quantity", line.qty)
            x.leaf("QuantityReturned", r.chance(0.05) ? 1 : 0)
            x.leaf("LineOrder", n)
            x.open("LineStatus")
            let code = lineStatus(h, n)
            if code == "CAN" {
                x.leaf("Quantity", String(line.qty))
                x.leaf("StatusCode", code)
                x.leaf("ReasonCode", r.pick(["Customer Cancellation", "Supplier Cancellation"]))
            } else {
                x.leaf("StatusCode", code)
            }
            x.close("LineStatus")
            if !line.parts.isEmpty {
                x.open("DiscountList")
                for (k, part) in line.parts.enumerated() {
                    x.open("DiscountItem")
                    x.open("Type")
                    x.open("BasketPromotion")
                    if k == 0 { x.leaf("Id", r.int(1...60)) } else { x.leaf("PromotionName", r.pick(["ABC", "Spring & Summer", "3 for 2"])) }
                    x.close("BasketPromotion")
                    x.close("Type")
                    x.leaf("DiscountAmount", Money.text(part))
                    x.leaf("DiscountNumber", k + 1)
                    if r.chance(0.5) {
                        x.leaf("PromotionAmount", String(r.pick([10, 20, 25])))
                        x.leaf("PromotionAmountType", "percent")
                    }
                    x.close("DiscountItem")
                }
                x.close("DiscountList")
            }
            x.close("Item")
        }
        x.close("Items")

        x.open("Transactions")
        let payments = total > 0 ? (r.chance(0.05) ? 2 : 1) : 0
        for t in 0..<payments {
            x.open("Transaction")
            x.leaf("TransactionID", 9_000_000 + h.index * 2 + t)
            x.leaf("Amount", Money.text(t == 0 ? total : -min(total, 500)))
            x.leaf("Display", "1")
            x.leaf("NameOnCard", "\(first) \(last)")
            x.leaf("CardNumber", r.digits(4))
            x.leaf("CardExpiry", "0\(r.int(1...9))\(r.int(24...31))")
            x.leaf("CardType", r.pick(["VISA", "MC", "AMEX"]))
            x.leaf("Type", t == 0 ? "PAYMENT" : "REFUND")
            x.leaf("Status", "OK")
            x.leaf("StatusDetails", "0000 : The Authorisation was Successful.")
            x.leaf("Provider", "SagePay")
            x.leaf("ProviderTxID", "{\(r.digits(8))-0000-0000-0000-\(r.digits(12))}")
            x.leaf("ProviderAddressResult", r.pick(["MATCHED", "NOTMATCHED", "NOTCHECKED"]))
            x.leaf("DateCreated", DemoDates.plain(h.created + 2 + Int64(t) * 86_400))
            x.close("Transaction")
        }
        x.close("Transactions")

        x.open("AdditionalFields")
        if r.chance(0.3) {
            x.open("AdditionalField")
            x.leaf("FieldID", 41)
            x.leaf("FieldName", "Delivery Estimate")
            x.leaf("FieldValue", DemoDates.day(h.created + 3 * 86_400))
            x.close("AdditionalField")
        }
        x.close("AdditionalFields")
        if r.chance(0.2) {
            x.open("FraudResults")
            for k in 0..<r.int(1...2) {
                x.open("Result")
                x.leaf("Action", k == 0 ? "Hold" : "Release")
                x.leaf("Score", r.int(-80...40))
                x.leaf("MID", 1_690_000_000 + r.int(0...9_999_999))
                x.leaf("DateCreated", DemoDates.iso(h.created + 60 * Int64(k + 1)))
                x.close("Result")
            }
            x.close("FraudResults")
        }
        x.close("Order")
    }

    static func fourDecimals(_ tenThousandths: Int) -> String {
        let f = tenThousandths % 10000
        return "\(tenThousandths / 10000)." + String(repeating: "0", count: 4 - String(f).count) + String(f)
    }
}
