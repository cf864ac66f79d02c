// The aurora-xml connector against the in-process demo store over HTTP.
import AsyncHTTPClient
import Foundation
import NIOCore
import Synchronization
import Testing
@testable import CommerceETL
@testable import DemoStore

/// Keeps every record a run's `collect` load received, by name.
final class Collected: Sendable {
    private let records = Mutex<[String: [Record]]>([:])
    static let shared = Collected()
    func add(_ name: String, _ batch: [Record]) { records.withLock { $0[name, default: []] += batch } }
    func take(_ name: String) -> [Record] { records.withLock { $0.removeValue(forKey: name) ?? [] } }
}

struct CollectLoad: LoadFormat {
    var name: String
    var target: String { "memory \(name)" }
    static func parse(_ value: ConfigValue) -> (any LoadFormat)? {
        guard let c = value.map(), let name = c.string("name", required: true) else { return nil }
        return CollectLoad(name: name)
    }
    func makeWriter(_ run: RunContext, resume: Value?) throws -> any LoadWriter { CollectWriter(name: name) }
}

final class CollectWriter: LoadWriter {
    let name: String
    var rows = 0
    init(name: String) { self.name = name }
    func write(_ records: [Record]) throws {
        Collected.shared.add(name, records)
        rows += records.count
    }
    func finish() throws -> LoadResult { LoadResult(staged: [], rows: rows, bytes: 0) }
    func abort() {}
    // Memory only: nothing to make durable or to continue.
    func checkpoint(final: Bool) throws -> Value { .null }
    func restart() throws {}
    func suspend() {}
}

let connectorRegistry: StageRegistry = {
    var r = StageRegistry.standard
    r.loads.append(.init(name: "collect", parse: CollectLoad.parse))
    return r
}()

/// Runs one extract against `url` and returns what it produced.
func extract(url: String, token: String = "test-token", connection extra: String = "", stage: String) async throws -> [Record] {
    let name = UUID().uuidString
    let yaml = """
        version: 1
        name: connector-test
        connections:
          store: { type: aurora-xml, url: "\(url)", token: \(token)\(extra.isEmpty ? "" : ", " + extra) }
        extract:
          data: { connection: store, \(stage) }
        load:
          sink: { input: data, collect: { name: "\(name)" } }
        """
    let outcome = PipelineLoader.load(yaml: yaml, file: "t.yml", environment: [:], registry: connectorRegistry)
    guard let pipeline = outcome.pipeline else { throw ETLError(outcome.diagnostics.map(\.description).joined(separator: "\n")) }
    _ = try await PipelineRunner(pipeline: pipeline, log: quietLog(), storeLauncher: DemoStoreLauncher(), stateDirectory: Fixtures.scratchState()).run()
    return Collected.shared.take(name)
}

func ids(_ records: [Record], _ field: String) -> [Int64] {
    records.map { if case .integer(let n)? = $0[field] { n } else { -1 } }
}

/// A plain HTTP POST, independent of the connector.
func post(_ url: String, _ body: [UInt8]) async throws -> (Int, [UInt8]) {
    var request = HTTPClientRequest(url: url)
    request.method = .POST
    request.body = .bytes(ByteBuffer(bytes: body))
    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
    let data = try await response.body.collect(upTo: 64 << 20)
    return (Int(response.status.code), Array(data.readableBytesView))
}

@Suite struct AuroraXMLConnectorTests {
    @Test func everyOrderExactlyOnceInEveryDetailLevel() async throws {
        let server = try await DemoStoreServer.start(DemoStoreConfig(orders: 730, products: 50, seed: 3))
        defer { Task { await server.stop() } }
        for level in ["Full", "Status"] {
            let orders = try await extract(url: server.xmlURL, stage: "resource: orders, detail_level: \(level), page_size: 50")
            #expect(ids(orders, "OrderID") == (1_000_000..<1_000_730).map(Int64.init), "\(level)")
            if level == "Status" {
                #expect(Array(orders[0].fields.keys) == ["OrderID", "OrderStatus", "DateCreated", "DateModified", "Items"])
            } else {
                #expect(orders.allSatisfy { if case .array? = $0["Addresses"] { true } else { false } })
            }
        }
        await server.stop()
    }

    @Test func everyProductExactlyOnceInEveryDetailLevel() async throws {
        let server = try await DemoStoreServer.start(DemoStoreConfig(orders: 10, products: 333, seed: 4))
        let expected = Set((1...333).map(Int64.init))
        for level in ["Full", "Language", "Minimum Identifiers"] {
            let products = try await extract(url: server.xmlURL, stage: "resource: products, detail_level: \(level), page_size: 40")
            let got = ids(products, "ProductID")
            #expect(got.count == 333 && Set(got) == expected, "\(level)")
            if level == "Minimum Identifiers" { #expect(products.allSatisfy { $0.fields.keys.elementsEqual(["ProductID", "ProductReference"]) }) }
            if level == "Language" { #expect(products.allSatisfy { $0["ProductName"] != nil && $0["Variations"] == nil }) }
        }
        await server.stop()
    }

    @Test func faultsAreRetriedAndLoseNothing() async throws {
        let faults = try FaultPlan(parsing: "500=0.12,503=0.12,429=0.04,close=0.12,cut=0.12")
        let server = try await DemoStoreServer.start(DemoStoreConfig(orders: 600, products: 10, seed: 5, faults: faults))
        let orders = try await extract(url: server.xmlURL, connection: "retries: 4, concurrency: 3",
                                       stage: "resource: orders, page_size: 40")
        #expect(ids(orders, "OrderID") == (1_000_000..<1_000_600).map(Int64.init))
        // Faults really happened: more requests than the 16 pages (15 full and the empty end).
        #expect(server.state.requestCount > 16)
        await server.stop()
    }

    @Test func pagesThroughTheSnapshotWhileDataChanges() async throws {
        let server = try await DemoStoreServer.start(DemoStoreConfig(orders: 500, products: 10, seed: 6, latency: .milliseconds(20)))
        let changer = Task {
            for i in 0..<500 where i % 3 == 0 {
                server.state.changeOrder(index: i)
                try await Task.sleep(for: .milliseconds(1))
            }
        }
        let orders = try await extract(url: server.xmlURL, connection: "concurrency: 2", stage: "resource: orders, page_size: 25")
        try await changer.value
        #expect(ids(orders, "OrderID") == (1_000_000..<1_000_500).map(Int64.init))
        // A second run sees the changes: orders modified in the hour before the store's clock
        // (less the 10 second offset), which are most of the changed ones.
        let later = try await extract(url: server.xmlURL, stage: "resource: orders, page_size: 100, interval: PT1H, date_field: modified")
        let to = server.state.now - 10, from = to - 3600
        let expected = (0..<500).map { server.state.orderHeader($0) }.filter { (from...to).contains($0.modified) }
        #expect(ids(later, "OrderID") == expected.map { Int64($0.id) })
        #expect(expected.filter { $0.version > 0 }.count > 150)
        await server.stop()
    }

    @Test func filtersReturnWhatTheGeneratorSays() async throws {
        let config = DemoStoreConfig(orders: 900, products: 300, seed: 8)
        let server = try await DemoStoreServer.start(config)
        let headers = (0..<900).map { OrderGenerator.header(index: $0, config: config) }

        let shipped = try await extract(url: server.xmlURL, stage: "resource: orders, filters: { statuses: [Despatched, Completed], payment_type: PayPal, payment_condition: not }")
        #expect(ids(shipped, "OrderID") == headers.filter { ["Despatched", "Completed"].contains($0.status) && $0.paymentType != "PayPal" }.map { Int64($0.id) })

        let someIDs = [1_000_003, 1_000_500, 1_000_899, 2_000_000]
        let byID = try await extract(url: server.xmlURL, stage: "resource: orders, filters: { order_ids: [\(someIDs.map(String.init).joined(separator: ", "))] }")
        #expect(ids(byID, "OrderID") == [1_000_003, 1_000_500, 1_000_899])

        let customer = headers[10].customerID
        let byCustomer = try await extract(url: server.xmlURL, stage: "resource: orders, filters: { customer_id: \(customer), status_ids: [1, 2, 3, 4, 5, 6] }")
        #expect(ids(byCustomer, "OrderID") == headers.filter { $0.customerID == customer }.map { Int64($0.id) })

        // The last 30 days before the store's clock, less the documents' 10 second offset.
        let to = config.epoch - 10, from = to - 30 * 86_400
        let recent = try await extract(url: server.xmlURL, stage: "resource: orders, interval: P30D, date_field: created")
        #expect(ids(recent, "OrderID") == headers.filter { (from...to).contains($0.created) }.map { Int64($0.id) })
        #expect(!recent.isEmpty)

        let dayStart = config.epoch - 100 * 86_400
        let since = String(Timestamp(epochSeconds: dayStart).description.prefix(10))
        let sinceOrders = try await extract(url: server.xmlURL, stage: "resource: orders, since: \"\(since)\", date_field: modified")
        let midnight = dayStart - dayStart % 86_400
        #expect(ids(sinceOrders, "OrderID") == headers.filter { $0.modified >= midnight }.map { Int64($0.id) })

        let live = try await extract(url: server.xmlURL, stage: "resource: products, detail_level: Minimum Identifiers, filters: { display_product: true }")
        let products = (0..<300).map { ProductGenerator.header(index: $0, config: config) }
        #expect(Set(ids(live, "ProductID")) == Set(products.filter(\.display).map { Int64($0.id) }))
        #expect(live.count < 300)
        await server.stop()
    }

    @Test func pagesAreFetchedConcurrently() async throws {
        let server = try await DemoStoreServer.start(DemoStoreConfig(orders: 400, products: 10, seed: 9, latency: .milliseconds(50)))
        let orders = try await extract(url: server.xmlURL, connection: "concurrency: 4", stage: "resource: orders, detail_level: Status, page_size: 20")
        #expect(orders.count == 400)
        #expect(server.state.maxConcurrentRequests >= 3)
        await server.stop()
    }

    @Test func anErrorEnvelopeFailsTheRunWithTheServersMessageAndNoToken() async throws {
        let server = try await DemoStoreServer.start(DemoStoreConfig(orders: 10, products: 10, token: "right-secret"))
        do {
            _ = try await extract(url: server.xmlURL, token: "wrong-secret-4711", stage: "resource: orders")
            Issue.record("a bad token must fail the run")
        } catch {
            #expect("\(error)" == "stage 'data': page 1: the API answered Ack Error: code 1005, Error, authentication failed: missing or invalid AuthToken")
            #expect(!"\(error)".contains("wrong-secret-4711"))
        }
        await server.stop()
    }

    @Test func anUnreachableStoreFailsAfterItsRetries() async throws {
        do {
            _ = try await extract(url: "http://127.0.0.1:9/api", connection: "retries: 1, timeout: 2", stage: "resource: orders")
            Issue.record("must fail")
        } catch {
            #expect("\(error)".hasPrefix("stage 'data': page 1: cannot connect to http://127.0.0.1:9/api: connection refused"))
            #expect("\(error)".hasSuffix("(gave up after 2 attempts)"))
        }
    }

    @Test func theDocumentsExampleRequestsGetWellFormedAnswers() async throws {
        let server = try await DemoStoreServer.start(DemoStoreConfig(orders: 300, products: 60))
        for (name, element) in [("order-get-request.xml", "Order"), ("product-get-request.xml", "Product")] {
            let body = try Data(contentsOf: Fixtures.packageRoot.appendingPathComponent("samples/aurora-xml/requests/\(name)"))
            let (status, data) = try await post(server.xmlURL, Array(body))
            #expect(status == 200)
            let answer = try XMLNode.parse(data)
            let response1 = try #require(answer.child("Responses")?.child("Response"))
            #expect(answer.name == "AuroraResponseEnvelope")
            if element == "Product" {
                // Interval P1Y, Limit 100, Paging 20 per page: the first 20 of the year's products.
                #expect(response1.child("Ack")?.value == "OK")
                #expect(response1.child("Paging")?.child("Token") != nil)
                #expect(response1.child("Data")?.all("Product").count == 20)
            } else {
                // The example's placeholder attribute values ("automatic|none", "is|not") get an error envelope.
                #expect(response1.child("Ack")?.value == "Error")
                #expect(response1.child("Errors")?.child("Error")?.child("Message")?.value == "the condition attribute of <PaymentType> must be IS or NOT, found 'IS|NOT'")
            }
        }
        await server.stop()
    }

    @Test func badRequestsGetErrorEnvelopes() async throws {
        let server = try await DemoStoreServer.start(DemoStoreConfig(orders: 20, products: 5))
        func answer(_ get: String, controller: String = "Order") async throws -> (code: String?, message: String?) {
            let body = "<AuroraRequestEnvelope><Header><AuthToken>t</AuthToken></Header><Requests><Request><\(controller)><Get>\(get)</Get></\(controller)></Request></Requests></AuroraRequestEnvelope>"
            let (status, bytes) = try await post(server.xmlURL, Array(body.utf8))
            #expect(status == 200)
            let response = try XMLNode.parse(bytes).child("Responses")?.child("Response")
            #expect(response?.child("Ack")?.value == "Error")
            let error = response?.child("Errors")?.child("Error")
            return (error?.child("Code")?.value, error?.child("Message")?.value)
        }
        #expect(try await answer("<Paging><Token>nope</Token><Page>2</Page></Paging>") == ("1002", "unknown or expired paging token"))
        #expect(try await answer("<Colour>red</Colour><Paging><Limit>5</Limit></Paging>") == ("1001", "unknown element <Colour> in Order Get"))
        #expect(try await answer("<Interval>P1Y</Interval><DateStart>2025-01-01</DateStart><Paging><Limit>5</Limit></Paging>") == ("1004", "only one of <Interval> or <DateStart> is permitted"))
        #expect(try await answer("<Interval>P1X</Interval><Paging><Limit>5</Limit></Paging>") == ("1003", "'P1X' is not an ISO 8601 duration such as P1Y, P1M, PT10S or P1DT2H"))
        #expect(try await answer("<DetailLevel>Status</DetailLevel><Paging><Limit>5</Limit></Paging>", controller: "Product") == ("1003", "<DetailLevel> must be one of Full, Language, Minimum Identifiers, found 'Status'"))
        #expect(try await answer("<DetailLevel>Full</DetailLevel>") == ("1006", "Get without <Paging> would be deferred; the demo store answers paged requests only"))
        await server.stop()
    }

    @Test func intervalsCountBackFromTheStoresClock() throws {
        let now: Int64 = 1_767_225_600   // 2026-01-01T00:00:00Z
        #expect(try Duration8601(parsing: "PT10S").subtract(from: now) == now - 10)
        #expect(try Duration8601(parsing: "P1DT2H").subtract(from: now) == now - 26 * 3600)
        #expect(try Duration8601(parsing: "P1Y").subtract(from: now) == CalendarDate(year: 2025, month: 1, day: 1).daysSinceEpoch * 86_400)
        // A month back from 31 March is the last day of February.
        let march31 = CalendarDate(year: 2024, month: 3, day: 31).daysSinceEpoch * 86_400
        #expect(try Duration8601(parsing: "P1M").subtract(from: march31) == CalendarDate(year: 2024, month: 2, day: 29).daysSinceEpoch * 86_400)
        #expect(try Duration8601(parsing: "P13M").subtract(from: march31) == CalendarDate(year: 2023, month: 2, day: 28).daysSinceEpoch * 86_400)
        #expect(throws: APIError.self) { try Duration8601(parsing: "P") }
        #expect(throws: APIError.self) { try Duration8601(parsing: "PT") }
        #expect(throws: APIError.self) { try Duration8601(parsing: "1Y") }
    }

    @Test func theRateLimitSpacesRequests() async throws {
        let limiter = RateLimiter(perSecond: 100)
        let start = ContinuousClock.now
        for _ in 0..<6 { try await limiter.acquire() }
        // Six requests at 100 per second cannot all start within 50 ms.
        #expect(ContinuousClock.now - start >= .milliseconds(49))
    }

    @Test func sameSeedSameBytes() async throws {
        let a = try await DemoStoreServer.start(DemoStoreConfig(orders: 50, products: 20, seed: 11))
        let b = try await DemoStoreServer.start(DemoStoreConfig(orders: 50, products: 20, seed: 11))
        let body = #"<AuroraRequestEnvelope><Header><AuthToken>t</AuthToken></Header><Requests><Request><Product><Get><Paging><Limit>20</Limit></Paging></Get></Product></Request></Requests></AuroraRequestEnvelope>"#
        func fetch(_ s: DemoStoreServer) async throws -> String {
            let text = String(decoding: try await post(s.xmlURL, Array(body.utf8)).1, as: UTF8.self)
            // The paging token is the one thing allowed to differ.
            return text.replacingOccurrences(of: #"<Token>[0-9a-f]+</Token>"#, with: "", options: .regularExpression)
        }
        let first = try await fetch(a)
        #expect(first == (try await fetch(b)))
        #expect(first.contains("<Product>"))
        await a.stop()
        await b.stop()
    }
}
