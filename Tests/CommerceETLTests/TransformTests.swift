import CSV
import Foundation
import Testing
@testable import CommerceETL

private func step(_ yaml: String) throws -> any TransformStep { try parseStep(yaml) }

private let order: Record = [
    "OrderID": .integer(7),
    "Items": .array([
        .object(["Sku": .string("A"), "Price": .decimal(ExactDecimal(parsing: "1.50")!)]),
        .object(["Sku": .string("B"), "Price": .decimal(ExactDecimal(parsing: "2.00")!)]),
    ]),
    "Customer": .object(["Name": .string("Zoë"), "Phone": .string("0101")]),
]

@Suite struct TransformTests {
    @Test func explodeKeepsTheParentWithoutTheArray() throws {
        let out = try step("explode: { path: Items, parent_as: order, index_as: line }").apply([order])
        #expect(out.count == 2)
        #expect(out[0] == [
            "Sku": .string("A"), "Price": .decimal(ExactDecimal(parsing: "1.50")!), "line": .integer(0),
            "order": .object(["OrderID": .integer(7), "Customer": order["Customer"]!]),
        ])
        #expect(out[1]["Sku"] == .string("B"))
        #expect(out[1].at("order.OrderID") == .integer(7))
    }

    @Test func explodeBuildsTheSameRowsAsFieldByFieldWhateverTheShapes() throws {
        // Rows are built from the last row's keys while the element's keys are the same: check
        // against building each row field by field, over elements that share key storage, change
        // shape, already hold the added names, or are not objects, and parents that change shape.
        let item: Record = ["Sku": .string("A"), "Price": .decimal(ExactDecimal(parsing: "1.50")!)]
        var same = item
        same["Sku"] = .string("B")                        // the same key storage as `item`
        let wider: Record = ["Sku": .string("C"), "Price": .null, "Note": .string("gift")]
        let clashing: Record = ["order": .string("mine"), "Sku": .string("D"), "line": .integer(99)]
        let orders: [Record] = [
            ["OrderID": .integer(1), "Items": .array([.object(item), .object(same), .object(wider)]), "Total": .integer(3)],
            ["OrderID": .integer(2), "Items": .array([.object(clashing), .string("loose"), .object(item)]), "Total": .integer(4)],
            ["Items": .array([.object(same)]), "OrderID": .integer(3)],
            ["OrderID": .integer(4), "Items": .array([])],
        ]
        func reference(_ parentAs: String?, _ indexAs: String?) -> [Record] {
            var rows: [Record] = []
            for order in orders {
                guard case .array(let items)? = order["Items"] else { continue }
                var parent = order
                parent["Items"] = nil
                for (i, element) in items.enumerated() {
                    var row: Record = if case .object(let fields) = element { fields } else { ["value": element] }
                    if let indexAs { row[indexAs] = .integer(Int64(i)) }
                    if let parentAs { row[parentAs] = .object(parent) }
                    rows.append(row)
                }
            }
            return rows
        }
        for (parentAs, indexAs) in [("order", "line"), ("order", nil), (nil, "line"), (nil, nil), ("x", "x")] as [(String?, String?)] {
            let options = [parentAs.map { "parent_as: \($0)" }, indexAs.map { "index_as: \($0)" }].compactMap { $0 }
            let explode = try step("explode: { path: Items\(options.map { ", " + $0 }.joined()) }")
            let rows = try explode.apply(orders)
            #expect(rows.count == 7)
            #expect(rows == reference(parentAs, indexAs), "\(options)")
        }
    }

    @Test func explodeSkipsEmptyArraysWrapsScalarsAndRejectsNonArrays() throws {
        let explode = try step("explode: { path: Tags }")
        let records: [Record] = [["Tags": .array([])], ["Tags": .null], [:], ["Tags": .array([.string("x"), .integer(2)])]]
        #expect(try explode.apply(records) == [["value": .string("x")], ["value": .integer(2)]])
        #expect(throws: ETLError("'Tags' is string, not an array")) { try explode.apply([["Tags": .string("x")]]) }
    }

    @Test func selectBuildsRecordsInOrderWithNullForAbsentPaths() throws {
        let out = try step("select: { id: OrderID, first_sku: Items.0.Sku, phone: Customer.Phone, nope: Customer.Email }").apply([order])
        #expect(out == [["id": .integer(7), "first_sku": .string("A"), "phone": .string("0101"), "nope": .null]])
        #expect(Array(out[0].fields.keys) == ["id", "first_sku", "phone", "nope"])
    }

    @Test func renameKeepsPositions() throws {
        let out = try step("rename: { OrderID: order_id, Customer: customer }").apply([order])
        #expect(Array(out[0].fields.keys) == ["order_id", "Items", "customer"])
        #expect(out[0]["order_id"] == .integer(7))
    }

    @Test func dropRemovesTopLevelAndNestedFields() throws {
        let out = try step("drop: [Items, Customer.Phone, Missing.Field]").apply([order])
        #expect(out == [["OrderID": .integer(7), "Customer": .object(["Name": .string("Zoë")])]])
    }

    @Test func badStepSettingsAreLocated() {
        let outcome = PipelineLoader.load(yaml: """
            version: 1
            name: t
            connections: { r: { type: files, dialect: aurora-xml, paths: [x.xml] } }
            extract: { o: { connection: r, resource: orders } }
            transform:
              s:
                input: o
                steps:
                  - explode: { path: "Items..X", parent: order }
                  - select: {}
                  - drop: [ok, "a..b"]
            load: { l: { input: s, csv: { path: x.csv } } }
            """, file: "t.yml", environment: [:])
        #expect(outcome.diagnostics.map(\.description) == [
            "t.yml:9:26: error: 'transform.s.steps[0].explode.path' is not a valid field path: 'Items..X'",
            "t.yml:9:38: error: unknown key 'parent' in 'transform.s.steps[0].explode' (did you mean 'parent_as'?)",
            "t.yml:10:17: error: 'transform.s.steps[1].select' selects no fields",
            "t.yml:11:15: error: 'transform.s.steps[2].drop' holds an invalid field path: 'a..b'",
        ])
    }
}

/// Paths that pick a list element by a field's value (`ProductPrices[ISO=USD].Price`): the
/// element wanted is not always at the same position.
@Suite struct KeySelectingPathTests {
    private let product: Record = [
        "ProductID": .integer(7),
        "ProductPrices": .array([
            .object(["ISO": .string("GBP"), "Price": .decimal(ExactDecimal(parsing: "12.50")!)]),
            .object(["ISO": .string("USD"), "Price": .decimal(ExactDecimal(parsing: "15.90")!)]),
        ]),
        "Addresses": .array([
            .object(["Country": .object(["ISO": .string("gb")]), "PostCode": .string("01234")]),
            .object(["Country": .object(["ISO": .string("ie")]), "PostCode": .string("D02 X285")]),
        ]),
        "Tiers": .array([.object(["Min": .decimal(ExactDecimal(parsing: "1.50")!), "Name": .string("small")])]),
    ]

    @Test func aSelectorPicksTheElementWhoseFieldHasTheValue() throws {
        func at(_ text: String) throws -> Value? { product.value(at: try #require(FieldPath(text), "\(text)")) }
        #expect(try at("ProductPrices[ISO=USD].Price") == .decimal(ExactDecimal(parsing: "15.90")!))
        #expect(try at("ProductPrices[ISO=GBP].Price") == .decimal(ExactDecimal(parsing: "12.50")!))
        #expect(try at("ProductPrices[ISO=EUR].Price") == nil)
        #expect(try at("Addresses[Country.ISO=ie].PostCode") == .string("D02 X285"))
        #expect(try at("Tiers[Min=1.50].Name") == .string("small"))
        #expect(try at("ProductPrices.1.ISO") == .string("USD"))
        #expect(try at("ProductID[ISO=USD]") == nil)
        #expect(FieldPath("ProductPrices[ISO=USD].Price")?.description == "ProductPrices[ISO=USD].Price")
        #expect(FieldPath("ProductPrices[ISO=USD].Price")?.components == ["ProductPrices", "[ISO=USD]", "Price"])
    }

    @Test func hintedLookupsAgreeWithPlainOnesWhenFieldsMoveOrGoMissing() throws {
        // One set of hints carried across records whose fields change places, go missing, or
        // change kind (object, array, scalar), as a select step carries them across a batch.
        let records: [Record] = [
            order,
            ["Customer": .object(["Phone": .string("0202"), "Name": .string("Ann")]), "OrderID": .integer(8)],
            ["OrderID": .integer(9), "Customer": .string("not an object"), "Items": .array([])],
            ["Items": .array([.object(["Price": .decimal(ExactDecimal(parsing: "3.00")!), "Sku": .string("C")])]), "OrderID": .null],
            product,
            order,
        ]
        let paths = try ["OrderID", "Customer.Name", "Customer.Phone", "Items.0.Price", "Items[Sku=B].Price", "Items.1.Sku",
                         "ProductPrices[ISO=USD].Price", "Addresses.1.Country.ISO", "Missing.Field"].map { try #require(FieldPath($0)) }
        var hints = paths.map { PathHints($0) }
        var found = 0
        for record in records {
            for (i, path) in paths.enumerated() {
                let plain = record.value(at: path)
                #expect(record.value(at: path, hints: &hints[i]) == plain, "\(path) in \(record)")
                if plain != nil { found += 1 }
            }
        }
        #expect(found == 20)
    }

    @Test(arguments: ["[ISO=USD].Price", "ProductPrices[ISO].Price", "ProductPrices[ISO=USD", "ProductPrices]x", "a..b", "a.", "ProductPrices.[ISO=USD]", "P[[a=b]]", ""])
    func malformedPathsAreRefused(_ text: String) {
        #expect(FieldPath(text) == nil)
    }

    @Test func selectorsWorkInSelectFilterAndColumnsThroughARun() async throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        try """
            version: 1
            name: usd
            connections: { shop: { type: aurora-xml, url: "demo:?orders=10&products=120&seed=5" } }
            extract: { products: { connection: shop, resource: products, page_size: 50 } }
            transform:
              priced:
                input: products
                steps:
                  - filter: { where: { "ProductPrices[ISO=USD].Price": { gt: 100 } } }
                  - select: { id: ProductID, usd: "ProductPrices[ISO=USD].Price", position: ProductPrices.1.ISO }
            load:
              out: { input: priced, csv: { path: out/usd.csv } }
              archive: { input: products, csv: { path: out/all.csv, columns: { id: ProductID, gbp: "ProductPrices[ISO=GBP].Price" } } }
            """.write(to: dir.appendingPathComponent("p.yml"), atomically: true, encoding: .utf8)
        let result = try await runCLIAsync(["run", "p.yml"], in: dir)
        #expect(result.status == 0, "\(result.stderr)")
        // An independent read of what the demo store sent: every product's USD price, wherever it is.
        let archive = try String(contentsOf: dir.appendingPathComponent("out/all.csv"), encoding: .utf8)
        let all = try CSVReader(string: archive, hasHeaderRow: true)
        var gbp = 0
        while let row = all.next() { if !row[1].isEmpty { gbp += 1 } }
        #expect(gbp == 120)
        let priced = try CSVReader(string: String(contentsOf: dir.appendingPathComponent("out/usd.csv"), encoding: .utf8), hasHeaderRow: true)
        var rows: [[String]] = []
        while let row = priced.next() { rows.append(row) }
        #expect(!rows.isEmpty)
        #expect(rows.allSatisfy { Decimal(string: $0[1]).map { $0 > 100 } == true }, "\(rows.prefix(3))")
        // The USD entry is found at whichever position it has (second in some products, third in others).
        #expect(rows.allSatisfy { !$0[1].isEmpty })
        #expect(rows.contains { $0[2] == "USD" } && rows.contains { $0[2] != "USD" }, "\(rows)")
    }
}
