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
