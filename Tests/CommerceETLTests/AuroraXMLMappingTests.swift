import Foundation
import Testing
@testable import CommerceETL

/// Parses a whole response, feeding it `chunkSize` bytes at a time.
func parseAurora(_ bytes: [UInt8], resource: AuroraXMLRecordReader.Resource, chunkSize: Int = 4096,
                 language: String? = nil) throws -> [Record] {
    var parser = XMLPullParser()
    var reader = AuroraXMLRecordReader(resource: resource, language: language)
    var records: [Record] = []
    var offset = 0
    repeat {
        let end = min(bytes.count, offset + chunkSize)
        parser.feed(bytes[offset..<end])
        offset = end
        if offset == bytes.count { parser.finish() }
        while let record = try reader.read(from: &parser) { records.append(record) }
    } while offset < bytes.count
    try reader.finish(line: parser.currentLine, column: parser.currentColumn)
    return records
}

func parseAurora(_ xml: String, resource: AuroraXMLRecordReader.Resource, language: String? = nil) throws -> [Record] {
    try parseAurora(Array(xml.utf8), resource: resource, language: language)
}

func sampleRecords(_ name: String, _ resource: AuroraXMLRecordReader.Resource) throws -> [Record] {
    try parseAurora(Array(Data(contentsOf: Fixtures.sample(name))), resource: resource)
}

/// Wraps record XML in the documents' response envelope.
func envelope(_ data: String, ack: String = "OK") -> String {
    """
    <?xml version="1.0" encoding="utf-8"?>
    <AuroraResponseEnvelope><Header><Summary><Ack>\(ack)</Ack></Summary></Header>
    <Responses><Response><RequestID>1</RequestID><Ack>\(ack)</Ack><Data>\(data)</Data></Response></Responses>
    </AuroraResponseEnvelope>
    """
}

extension Record {
    func at(_ path: String) -> Value? { value(at: FieldPath(path)!) }
}

@Suite struct AuroraXMLMappingTests {
    @Test func theDocumentsOrderGetExampleIsTyped() throws {
        let orders = try sampleRecords("order-get-example.xml", .orders)
        #expect(orders.count == 1)
        let order = orders[0]
        #expect(order["OrderID"] == .integer(12345678))
        #expect(order["OrderStatus"] == .string("Cancelled"))
        #expect(order.at("OrderSubtotal")?.flatText == "16.6600")   // digits as given
        #expect(order["OrderTotal"] == .decimal(ExactDecimal(parsing: "19.99")!))
        #expect(order["TaxRate"]?.flatText == "20.00")
        // Strings keep their leading zeros.
        #expect(order.at("Transactions.0.CardNumber") == .string("0001"))
        #expect(order.at("Transactions.0.CardExpiry") == .string("0520"))
        #expect(order.at("Transactions.0.Display") == .bool(true))
        #expect(order.at("Addresses.0.OptOut") == .bool(false))
        // Empty elements are null.
        #expect(order["CouponCode"] == .null)
        #expect(order.at("Addresses.0.CompanyName") == .null)
        // Zero dates are null; both date-time shapes become ISO 8601.
        #expect(order["DateShipped"] == .null)
        #expect(order["CustomerSelectedDeliveryDate"] == .null)
        #expect(order["DateCreated"]?.flatText == "2013-01-30T14:53:57+00:00")
        #expect(order["DateDeliveryEstimate"]?.flatText == "2013-02-07T00:00:00+00:00")
        #expect(order.at("Transactions.0.DateCreated")?.flatText == "2013-01-30T14:53:57+00:00")
        #expect(order.at("FraudResults.0.DateCreated")?.flatText == "2013-04-24T10:53:33+01:00")
        #expect(order.at("FraudResults.0.Score") == .integer(-51))
        // A repeated container with one child is still an array; a container with children is an object.
        guard case .array(let items)? = order["Items"] else { Issue.record("Items is not an array"); return }
        #expect(items.count == 1)
        #expect(order.at("Items.0.LineStatus.StatusCode") == .string("Cancelled"))
        #expect(order.at("Items.0.AdditionalFields.0.FieldName") == .string("An Additional Field Name"))
        #expect(order.at("Addresses.1.Country.ISO") == .string("gb"))
        #expect(order.at("Addresses.1.Country.ID") == .integer(1))
        // Not in the field tables: kept as a string.
        #expect(order["ShippingType"] == .string("Standard"))
        // Field order is the document's order.
        #expect(Array(order.fields.keys.prefix(4)) == ["OrderID", "CustomerID", "OrderStatus", "PaymentType"])
    }

    @Test func theDocumentsProductGetExampleIsTyped() throws {
        let products = try sampleRecords("product-get-example.xml", .products)
        #expect(products.count == 1)
        let p = products[0]
        #expect(p["ProductID"] == .integer(1))
        #expect(p["ProductEAN"] == .string("844665086791"))
        #expect(p["ProductName"] == .string("Bobbyz"))            // language-tagged text
        #expect(p["BinNumber"] == .null)                          // <BinNumber />
        #expect(p["MetaTitle"] == .null)                          // <MetaTitle language="en-gb" />
        #expect(p["ProductCopy"] == .string("<p>My selling text goes in here</p>"))   // CDATA
        #expect(p["RestockDate"] == .null)                        // 0000-00-00
        #expect(p["DisplayProduct"] == .bool(true))
        #expect(p.at("ProductPrices.0.PriceRRP")?.flatText == "60.00")
        #expect(p.at("ProductDimensionsWidth")?.flatText == "0.0000")
        #expect(p.at("Variations.0.VariationEAN") == .null)
        #expect(p.at("Variations.0.Attributes.0.AttributeValue") == .string("White"))
        #expect(p.at("ShippingRestrictions.CountriesExcluded.1.Name") == .string("France"))
        #expect(p.at("ShippingRestrictions.CountriesIncluded") == .array([]))   // empty list container
        #expect(p.at("ShippingRestrictions.ShippingSKUsExcluded") == .array([.string("SKUEurope")]))
        #expect(p.at("AdditionalFields.0.FieldValues.0.Value") == .string("1"))
        #expect(p.at("UpSells.1.ProductID") == .integer(3647))
        #expect(p.at("Bundles.0.Products") == .array([.null]))
        #expect(p["DateModified"]?.flatText == "2016-09-14T09:51:39+01:00")
    }

    @Test func recordedPageKeepsAwkwardText() throws {
        let orders = try sampleRecords("order-get-page-2.xml", .orders)
        #expect(orders.map { $0["OrderID"] } == [.integer(1000101), .integer(1000102), .integer(1000103)])
        let o = orders[0]
        #expect(o.at("Addresses.0.CompanyName") == .string("\"Smith, Jones & Co\""))  // entity decoded
        #expect(o.at("Addresses.0.PostCode") == .string("01234"))
        #expect(o.at("Addresses.0.MobileNumber") == .string("0033612345678"))
        #expect(o.at("Addresses.1.LastName") == .string("佐藤"))
        #expect(o.at("Addresses.1.AddressLine2") == .string("مرحبا بالعالم"))
        #expect(o["InvoiceNotes"] == .string("Gift wrap <b>please</b> & thanks"))
        #expect(o["CustomerNotes"] == .string("Leave with neighbour, \"No. 7\"\n\tring twice 🎁 <not before 9>"))
        #expect(o["CouponCode"] == .string("=SPRING10"))
        #expect(o["CustomerSelectedDeliveryDate"] == .date(CalendarDate(year: 2024, month: 3, day: 5)))
        #expect(o["DateCreated"]?.flatText == "2024-03-01T09:15:00+01:00")
        #expect(o.at("Items.0.VariationEAN") == .string("0012345678912"))
        #expect(o.at("Items.0.BundleID") == .null)
        #expect(o.at("Items.0.DiscountList.0.Type.BasketPromotion.Id") == .integer(34))
        #expect(o.at("Transactions.0.CardExpiry") == .string("0527"))
        #expect(o["FraudResults"] == .array([]))
        #expect(orders[1]["DateCreated"]?.flatText == "2024-03-01T23:59:59+00:00")
        #expect(orders[2]["Items"] == .array([]))
        #expect(orders[2]["DateCreated"]?.flatText == "2024-03-02T08:00:00-05:00")
    }

    @Test func recordedProductPageHasLanguagesAndVariations() throws {
        let products = try sampleRecords("product-get-page-2.xml", .products)
        #expect(products.count == 2)
        let tee = products[0]
        #expect(tee["ProductName"] == .string("Organic T-shirt, \"classic\" fit"))
        #expect(tee.at("ProductName_translations.fr-fr") == .string("T-shirt bio, coupe « classique »"))
        #expect(tee["ProductCopy"] == .string("<p>Soft & breathable</p>"))
        #expect(tee.at("ProductPrices.1.ISO") == .string("EUR"))
        #expect(tee["RestockDate"] == .date(CalendarDate(year: 2024, month: 4, day: 1)))
        #expect(tee.at("Variations.0.Attributes.0.AttributeValue_translations.fr-fr") == .string("Bleu"))
        #expect(tee.at("Variations.1.Attributes") == .array([]))
        #expect(tee["DateCreated"]?.flatText == "2023-11-05T08:30:00+00:00")
        #expect(products[1]["Variations"] == .array([]))
        #expect(products[1]["ProductEAN"] == .null)
        #expect(products[1]["DateModified"] == .null)
    }

    @Test func chunkBoundariesDoNotChangeTheResult() throws {
        let bytes = Array(try Data(contentsOf: Fixtures.sample("order-get-page-2.xml")))
        let whole = try parseAurora(bytes, resource: .orders, chunkSize: bytes.count)
        for size in [1, 2, 3, 7, 64, 1000] {
            #expect(try parseAurora(bytes, resource: .orders, chunkSize: size) == whole, "chunk size \(size)")
        }
    }

    @Test func languagesRepeatedChildrenAndUnknownElements() throws {
        let xml = envelope("""
            <Product><ProductID>7</ProductID>
            <ProductName language="en-gb">Jumper</ProductName><ProductName language="fr-fr">Pull</ProductName>
            <Mystery><Part>a</Part><Part>b</Part><Solo>c</Solo></Mystery>
            <NewField>00123</NewField>
            </Product>
            """)
        let first = try parseAurora(xml, resource: .products)[0]
        #expect(first["ProductName"] == .string("Jumper"))
        #expect(first["ProductName_translations"] == .object(["en-gb": .string("Jumper"), "fr-fr": .string("Pull")]))
        #expect(first["Mystery"] == .object(["Part": .array([.string("a"), .string("b")]), "Solo": .string("c")]))
        #expect(first["NewField"] == .string("00123"))
        let french = try parseAurora(xml, resource: .products, language: "fr-fr")[0]
        #expect(french["ProductName"] == .string("Pull"))
    }

    /// Objects of one element share the keys of the last one with the same fields; one with
    /// other fields, or the same fields in another order, gets its own, and the next record
    /// with the first fields is read right again.
    @Test func recordsWithOtherFieldsKeepTheirOwnNamesAndOrder() throws {
        let xml = envelope("""
            <Order><OrderID>1</OrderID><OrderStatus>Pending</OrderStatus><Items><Item><ProductID>5</ProductID><Quantity>2</Quantity></Item></Items></Order>
            <Order><OrderStatus>Completed</OrderStatus><OrderID>2</OrderID><Items><Item><Quantity>3</Quantity></Item><Item><ProductID>6</ProductID><Quantity>1</Quantity><Extra>x</Extra></Item></Items></Order>
            <Order><OrderID>3</OrderID><OrderStatus>Pending</OrderStatus><Items><Item><ProductID>7</ProductID><Quantity>4</Quantity></Item></Items></Order>
            <Order><OrderID>4</OrderID><Note>n</Note><OrderStatus>Pending</OrderStatus><Items/></Order>
            """)
        let orders = try parseAurora(xml, resource: .orders)
        func item(_ order: Int, _ index: Int) -> Record? {
            if case .array(let items)? = orders[order]["Items"], case .object(let item) = items[index] { return item }
            return nil
        }
        #expect(orders.map { Array($0.fields.keys) } == [["OrderID", "OrderStatus", "Items"], ["OrderStatus", "OrderID", "Items"],
                                                        ["OrderID", "OrderStatus", "Items"], ["OrderID", "Note", "OrderStatus", "Items"]])
        #expect(orders.map { $0["OrderID"] } == [.integer(1), .integer(2), .integer(3), .integer(4)])
        #expect(orders[1]["OrderStatus"] == .string("Completed"))
        #expect(item(0, 0) == ["ProductID": .integer(5), "Quantity": .integer(2)])
        #expect(item(1, 0) == ["Quantity": .integer(3)])
        #expect(item(1, 1) == ["ProductID": .integer(6), "Quantity": .integer(1), "Extra": .string("x")])
        #expect(item(2, 0) == ["ProductID": .integer(7), "Quantity": .integer(4)])
        #expect(orders[3]["Items"] == .array([]))
        #expect(orders[3]["Note"] == .string("n"))
    }

    @Test func errorsNameLineAndColumn() throws {
        let badType = envelope("<Order>\n<OrderID>12x</OrderID></Order>")
        #expect(throws: AuroraXMLRecordReader.Failure.self) { try parseAurora(badType, resource: .orders) }
        do {
            _ = try parseAurora(badType, resource: .orders)
        } catch let e as AuroraXMLRecordReader.Failure {
            #expect(e.description == "4:1: OrderID must be an Integer (its type in the API document), found \"12x\"")
        }

        // A body cut between elements, and one cut inside a tag.
        let body = envelope("<Order><OrderID>1</OrderID><Items><Item><Price>1.00</Price>")
        let cut = body.range(of: "</Price>")!.upperBound
        do {
            _ = try parseAurora(String(body[..<cut]), resource: .orders)
            Issue.record("a truncated body must fail")
        } catch let e as AuroraXMLRecordReader.Failure {
            #expect(e.message == "the response ends inside <Item> opened at 3:99 (truncated?)")
        }
        #expect(throws: XMLSyntaxError.self) { try parseAurora(String(body[..<body.index(cut, offsetBy: -3)]), resource: .orders) }

        let mismatched = envelope("<Order><OrderID>1</OrderId></Order>")
        do {
            _ = try parseAurora(mismatched, resource: .orders)
            Issue.record("mismatched tags must fail")
        } catch let e as AuroraXMLRecordReader.Failure {
            #expect(e.description == "3:82: expected </OrderID> (opened at 3:72), found </OrderId>")
        }

        #expect(throws: XMLSyntaxError.self) { try parseAurora(envelope("<Order><N>&bogus;</N></Order>"), resource: .orders) }
        do {
            _ = try parseAurora("<html><body>502 Bad Gateway</body></html>", resource: .orders)
            Issue.record("a non-Aurora document must fail")
        } catch let e as AuroraXMLRecordReader.Failure {
            #expect(e.description == "1:1: not an Aurora XML API response: the root element is <html>, expected <AuroraResponseEnvelope>")
        }
    }

    @Test func anErrorEnvelopeFailsWithItsDetails() {
        let xml = """
            <AuroraResponseEnvelope><Header><Summary><Ack>Error</Ack></Summary></Header>
            <Responses><Response><RequestID>1</RequestID><Ack>Error</Ack>
            <Errors><Error><Code>1002</Code><Severity>Error</Severity><Message>Invalid paging token</Message></Error></Errors>
            </Response></Responses></AuroraResponseEnvelope>
            """
        do {
            _ = try parseAurora(xml, resource: .orders)
            Issue.record("an error response must fail")
        } catch let e as AuroraXMLRecordReader.Failure {
            #expect(e.message == "the API answered Ack Error: code 1002, Error, Invalid paging token")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    /// Text in the envelope (outside the records) has its entities decoded like record text.
    @Test func anErrorMessageWithEntitiesIsDecoded() {
        let xml = """
            <AuroraResponseEnvelope><Responses><Response><Ack>Failure</Ack>
            <Errors><Error><Code>7</Code><Message>Token &amp; key &lt;expired&gt; &#233;t&#xE9;</Message></Error></Errors>
            </Response></Responses></AuroraResponseEnvelope>
            """
        #expect(throws: AuroraXMLRecordReader.Failure.self) { _ = try parseAurora(xml, resource: .orders) }
        do { _ = try parseAurora(xml, resource: .orders) } catch {
            #expect((error as? AuroraXMLRecordReader.Failure)?.message == "the API answered Ack Failure: code 7, Token & key <expired> été")
        }
    }

    @Test func pagingTokenIsRead() throws {
        var parser = XMLPullParser()
        var reader = AuroraXMLRecordReader(resource: .orders)
        parser.feed(Array(try Data(contentsOf: Fixtures.sample("order-get-page-2.xml"))))
        parser.finish()
        while try reader.read(from: &parser) != nil {}
        #expect(reader.pagingToken == "5f2b8c0d9e1a4b7c8d6e3f2a1b0c9d8e7")
        #expect(reader.ack == "OK")
    }
}

@Suite struct ValueTests {
    @Test func decimalsParseStrictlyAndKeepTheirDigits() {
        #expect(ExactDecimal(parsing: "16.6600")?.description == "16.6600")
        #expect(ExactDecimal(parsing: "-0.50")?.description == "-0.50")
        #expect(ExactDecimal(parsing: "12345678901234567890.123456789")?.description == "12345678901234567890.123456789")
        #expect(ExactDecimal(parsing: "12abc") == nil)
        #expect(ExactDecimal(parsing: "1.2.3") == nil)
        #expect(ExactDecimal(parsing: "") == nil)
        #expect(ExactDecimal(parsing: "1e3") == nil)
        #expect(ExactDecimal(parsing: "1.5e3", allowExponent: true)?.description == "1500")
        #expect(ExactDecimal(parsing: "0.1")!.value + ExactDecimal(parsing: "0.2")!.value == ExactDecimal(parsing: "0.3")!.value)
        for text in ["0.05", "-0.05", "100", "0.000123", "0.00", "-12.50", "9223372036854775807", "12345678901234567890.5", "1.000", "+7"] {
            let d = ExactDecimal(parsing: text)!
            #expect(d.description == (text.hasPrefix("+") ? String(text.dropFirst()) : text), "\(text)")
            #expect(ExactDecimal(d.value, scale: d.scale) == d)
        }
        #expect(ExactDecimal(Decimal(string: "16.66")!, scale: 4).description == "16.6600")
        #expect(ExactDecimal(Decimal(string: "-0.001")!, scale: 2).description == "-0.001")
        #expect(ExactDecimal(parsing: "-0.00")!.description == "0.00")
        #expect(ExactDecimal(parsing: "19.99")!.nearestDouble == 19.99)
        #expect(ExactDecimal(parsing: "0.1")!.significantDigits == 1 && ExactDecimal(parsing: "1234.5600")!.significantDigits == 6)
    }

    @Test func datesParseAndRender() {
        #expect(DateParser.parse("0000-00-00 00:00:00") == ParsedDate.none)
        #expect(DateParser.parse("0000-00-00") == ParsedDate.none)
        #expect(DateParser.parse("2013-02-30") == nil)
        #expect(DateParser.parse("yesterday") == nil)
        guard case .dateTime(let t)? = DateParser.parse("2024-02-29T23:30:00-02:30") else { Issue.record("no parse"); return }
        #expect(t.description == "2024-02-29T23:30:00-02:30")
        #expect(t.epochSeconds == 1_709_258_400)
        guard case .dateTime(let z)? = DateParser.parse("1969-12-31T23:59:59Z") else { Issue.record("no parse"); return }
        #expect(z.epochSeconds == -1)
        #expect(z.description == "1969-12-31T23:59:59+00:00")
    }

    @Test func jsonEscapesAndKeepsOrder() {
        var out: [UInt8] = []
        JSONWriter.write(.object(["b": .string("a\"\\\n\u{1}é"), "a": .decimal(ExactDecimal(parsing: "1.10")!), "n": .null]), into: &out)
        #expect(String(decoding: out, as: UTF8.self) == #"{"b":"a\"\\\n\u0001é","a":1.10,"n":null}"#)
    }
}

@Suite struct TimeZoneTests {
    @Test func datesWithoutAnOffsetTakeTheConnectionsZone() throws {
        guard case .dateTime(let fixed)? = DateParser.parse("2024-07-01 12:00:00", zone: NaiveTimeZone("+05:30")!) else {
            Issue.record("no parse")
            return
        }
        #expect(fixed.description == "2024-07-01T12:00:00+05:30")
        // Summer and winter in London, from the zone database.
        let london = try #require(NaiveTimeZone("Europe/London"))
        guard case .dateTime(let summer)? = DateParser.parse("2024-07-01 12:00:00", zone: london),
              case .dateTime(let winter)? = DateParser.parse("2024-01-15 12:00:00", zone: london) else {
            Issue.record("no parse")
            return
        }
        #expect(summer.description == "2024-07-01T12:00:00+01:00")
        #expect(winter.description == "2024-01-15T12:00:00+00:00")
        // A value that names its offset keeps it, whatever the zone.
        guard case .dateTime(let explicit)? = DateParser.parse("2024-07-01T12:00:00-04:00", zone: london) else { return }
        #expect(explicit.description == "2024-07-01T12:00:00-04:00")
        #expect(NaiveTimeZone("Mars/Olympus") == nil)
        #expect(NaiveTimeZone("+25:00") == nil)
    }
}
