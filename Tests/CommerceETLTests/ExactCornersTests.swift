// The corners of the commerce steps where exactness used to slip: cross rates through a rate
// table's base, what discount_check says after a conversion, lines discounted below zero,
// numbers beyond the exact range, and local times the clocks pass twice or skip.
import Foundation
import Testing
@testable import CommerceETL

private func money(_ text: String) -> Value { .decimal(ExactDecimal(parsing: text)!) }

/// A small deterministic generator, so a failing case can be replayed.
private struct SplitMix {
    var state: UInt64
    mutating func next(_ range: ClosedRange<Int64>) -> Int64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return range.lowerBound + Int64(z % UInt64(range.upperBound - range.lowerBound + 1))
    }
}

@Suite struct CrossRateTests {
    private func order(_ subtotal: String) -> Record {
        ["OrderID": .integer(7), "ChargedCurrency": .string("GBP"), "Currency": .string("GBP"), "OrderSubtotal": money(subtotal)]
    }

    private func decimal4(_ n: Int64) -> String { "\(n / 10_000).\(String(n % 10_000).leftPadded(4))" }
    private func decimal2(_ n: Int64) -> String { "\(n / 100).\(String(n % 100).leftPadded(2))" }

    @Test func anAmountThatConvertsToExactlyHalfAPennyRoundsAsAsked() throws {
        let table = "rates: { base: EUR, rates: { GBP: 0.8478, USD: 1.0705 } }"
        let halfUp = try parseStep("convert_currency: { to: USD, \(table) }")
        let halfEven = try parseStep("convert_currency: { to: USD, rounding: half_even, \(table) }")
        // 127.17 x 1.0705 / 0.8478 is exactly 160.575; 42.39 gives exactly 53.525.
        #expect(try halfUp.apply([order("127.17")])[0]["OrderSubtotal"]?.flatText == "160.58")
        #expect(try halfEven.apply([order("127.17")])[0]["OrderSubtotal"]?.flatText == "160.58")
        #expect(try halfUp.apply([order("42.39")])[0]["OrderSubtotal"]?.flatText == "53.53")
        #expect(try halfEven.apply([order("42.39")])[0]["OrderSubtotal"]?.flatText == "53.52")
    }

    /// Over generated amounts and table rates, half of them exact ties: the step equals an
    /// integer-only computation of amount x to-rate / from-rate, rounded once.
    @Test(arguments: [Money.Rounding.halfUp, .halfEven])
    func crossRatesMatchAnIntegerOnlyComputation(rounding: Money.Rounding) throws {
        var random = SplitMix(state: 11)
        var ties = 0
        for _ in 0..<400 {
            let from = random.next(1...99_999), to = random.next(1...2_000_000)   // 0.0001 ... 200.0000
            // An amount a (in pennies) lands on a tie when 2·a·to = n·from with n odd.
            func gcd(_ a: Int64, _ b: Int64) -> Int64 { b == 0 ? a : gcd(b, a % b) }
            let g = gcd(2 * to, from)
            var amount = random.next(1...9_999_999)
            if (2 * to / g) % 2 == 1, from / g <= 1_000_000, random.next(0...1) == 0 {
                amount = (from / g) * (2 * random.next(0...20) + 1)
                ties += 1
            }
            let step = try parseStep("convert_currency: { to: USD, rounding: \(rounding.rawValue), rates: { base: EUR, rates: { GBP: \(decimal4(from)), USD: \(decimal4(to)) } } }")
            let out = try step.apply([order(decimal2(amount))])[0]["OrderSubtotal"]?.flatText
            // Both amounts in pennies, both rates in ten-thousandths: the scales cancel.
            let numerator = Int128(amount) * Int128(to), denominator = Int128(from)
            var q = numerator / denominator
            let twice = 2 * (numerator % denominator)
            if twice > denominator || (twice == denominator && (rounding == .halfUp || q % 2 == 1)) { q += 1 }
            #expect(out == decimal2(Int64(q)), "\(decimal2(amount)) GBP at USD \(decimal4(to)) / GBP \(decimal4(from))")
        }
        #expect(ties > 20)
    }
}

@Suite struct DiscountCheckCornerTests {
    private func item(_ price: String, _ qty: Int64, _ discount: String, list: [String]? = nil) -> Value {
        var r: Record = ["Price": money(price), "Quantity": .integer(qty), "Discount": money(discount)]
        if let list { r["DiscountList"] = .array(list.map { .object(["DiscountAmount": money($0)]) }) }
        return .object(r)
    }

    @Test func aConversionDoesNotHideAListThatDidNotAddUp() throws {
        let order: Record = ["OrderID": .integer(3), "ChargedCurrency": .string("GBP"), "Currency": .string("EUR"), "ExchangeRate": money("1.1634"),
                             "TotalDiscount": money("2.00"), "Items": .array([item("10.00", 1, "2.00", list: ["1.00", "0.99"])])]
        let expected = "item 0: DiscountList adds up to 1.99 but Discount is 2.00"
        let own = try NormalizeDiscountsStep().apply([order])[0]
        #expect(own["discount_check"] == .string(expected))
        let converted = try parseStep("convert_currency: { to: order }").apply([order])
        let normalized = try NormalizeDiscountsStep().apply(converted)[0]
        #expect(normalized["discount_check"] == .string(expected + " (GBP, as the store sent it)"))
        // Consistent orders gain nothing new.
        let fine = try parseStep("convert_currency: { to: order }").apply([["OrderID": .integer(4), "ChargedCurrency": .string("GBP"), "Currency": .string("EUR"),
                                                                              "ExchangeRate": money("1.1634"), "TotalDiscount": money("1.99"),
                                                                              "Items": .array([item("10.00", 1, "1.99", list: ["1.00", "0.99"])])]])[0]
        #expect(fine.at("conversion.discount_check") == nil)
        #expect(try NormalizeDiscountsStep().apply([fine])[0]["discount_check"] == .null)
    }

    @Test func anExchangeRateThatIsNotPositiveIsAnError() throws {
        for rate in ["0", "-1.1634"] {
            let order: Record = ["OrderID": .integer(6), "ChargedCurrency": .string("GBP"), "Currency": .string("EUR"),
                                 "ExchangeRate": money(rate), "OrderTotal": money("10.00")]
            #expect(throws: ETLError("OrderID 6: ExchangeRate \(rate) is not a positive rate")) {
                try parseStep("convert_currency: { to: order }").apply([order])
            }
        }
    }

    @Test func aLineDiscountLargerThanTheLineIsFlagged() throws {
        let order: Record = ["OrderID": .integer(5), "ChargedCurrency": .string("GBP"), "TotalDiscount": money("5.00"),
                             "Items": .array([item("2.00", 1, "5.00")])]
        let out = try NormalizeDiscountsStep().apply([order])[0]
        #expect(out["discount_check"] == .string("item 0: Discount 5.00 is more than the line's 2.00"))
        #expect(out.at("Items.0.net_amount") == money("-3.00"))
    }

    @Test func numbersBeyondTheExactRangeFailNamingTheField() throws {
        func order(_ price: String, _ qty: Int64) -> Record {
            ["OrderID": .integer(9), "ChargedCurrency": .string("GBP"), "Items": .array([item(price, qty, "0")])]
        }
        #expect(throws: ETLError("OrderID 9: item 0 Quantity 9223372036854775807 is more than the 10000 units unit_net_amounts lists one by one")) {
            try NormalizeDiscountsStep().apply([order("1.00", .max)])
        }
        #expect(throws: ETLError("OrderID 9: item 0 Quantity 50000000 is more than the 10000 units unit_net_amounts lists one by one")) {
            try NormalizeDiscountsStep().apply([order("1.00", 50_000_000)])
        }
        #expect(throws: ETLError("OrderID 9: item 0 Price 9999999999999999999919.99 is beyond the exact range of GBP amounts (9223372036854775807 minor units)")) {
            try NormalizeDiscountsStep().apply([order("9999999999999999999919.99", 2)])
        }
        #expect(throws: ETLError("OrderID 9: item 0 Price x Quantity is beyond the exact range of GBP amounts")) {
            try NormalizeDiscountsStep().apply([order("92233720368547758.07", 2)])
        }
        let convert = try parseStep("convert_currency: { to: USD, rates: { base: EUR, rates: { GBP: 0.8478, USD: 1.0705 } } }")
        #expect(throws: ETLError("Price 9999999999999999999919.99 is beyond the exact range of the conversion")) {
            try convert.apply([order("9999999999999999999919.99", 1)])
        }
    }
}

@Suite struct LocalTimeCornerTests {
    private func instant(_ text: String, _ zone: String) throws -> String? {
        guard case .dateTime(let t)? = DateParser.parse(text, zone: try #require(NaiveTimeZone(zone))) else { return nil }
        return Timestamp(epochSeconds: t.epochSeconds).description.replacingOccurrences(of: "+00:00", with: "Z")
    }

    @Test func aTimeTheClocksPassTwiceIsTheEarlierInstant() throws {
        // 01:07:04 on 2023-10-29 happens in BST (+01:00) and again in GMT: the first is meant.
        #expect(try instant("2023-10-29 01:07:04", "Europe/London") == "2023-10-29T00:07:04Z")
        #expect(try instant("2023-11-05 01:30:00", "America/New_York") == "2023-11-05T05:30:00Z")
        // Either side of the repeated hour is unambiguous.
        #expect(try instant("2023-10-29 00:59:59", "Europe/London") == "2023-10-28T23:59:59Z")
        #expect(try instant("2023-10-29 02:00:00", "Europe/London") == "2023-10-29T02:00:00Z")
    }

    @Test func aTimeTheClocksSkipIsReadWithTheOffsetBeforeTheChange() throws {
        // 01:30 on 2023-03-26 does not exist in London; read as GMT it is 02:30 BST.
        #expect(try instant("2023-03-26 01:30:00", "Europe/London") == "2023-03-26T01:30:00Z")
        #expect(try instant("2023-03-26 02:30:00", "Europe/London") == "2023-03-26T01:30:00Z")
    }
}

private extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
