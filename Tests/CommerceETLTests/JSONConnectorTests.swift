// The aurora-rest and americommerce connectors against the in-process demo store, the JSON
// reader, and recorded JSON pages.
import AsyncHTTPClient
import Foundation
import NIOCore
import Testing
@testable import CommerceETL
@testable import DemoStore

/// Runs one extract of `type` against `url` and returns what it produced, with the run's warnings.
func extractJSON(type: String, url: String, connection extra: String, stage: String) async throws -> (records: [Record], warnings: [String]) {
    let name = UUID().uuidString
    let yaml = """
        version: 1
        name: json-test
        connections:
          store: { type: \(type), url: "\(url)", \(extra) }
        extract:
          data: { connection: store, \(stage) }
        load:
          sink: { input: data, collect: { name: "\(name)" } }
        """
    let outcome = PipelineLoader.load(yaml: yaml, file: "t.yml", environment: [:], registry: connectorRegistry)
    guard let pipeline = outcome.pipeline else { throw ETLError(outcome.diagnostics.map(\.description).joined(separator: "\n")) }
    let report = try await PipelineRunner(pipeline: pipeline, log: quietLog(), storeLauncher: DemoStoreLauncher(), stateDirectory: Fixtures.scratchState()).run()
    return (Collected.shared.take(name), report.warnings)
}

@Suite struct AuroraRESTConnectorTests {
    let credentials = "client_id: shop-client, client_secret: not-a-real-secret-91"

    @Test func everyRecordExactlyOnceWithFaults() async throws {
        let faults = try FaultPlan(parsing: "500=0.1,503=0.1,429=0.03,close=0.1,cut=0.1")
        let server = try await DemoStoreServer.start(DemoStoreConfig(orders: 520, products: 130, seed: 21, faults: faults))
        let orders = try await extractJSON(type: "aurora-rest", url: server.auroraRESTURL, connection: credentials + ", concurrency: 3",
                                           stage: "resource: orders, page_size: 40")
        #expect(ids(orders.records, "orderId") == (1_000_000..<1_000_520).map(Int64.init))
        // Money arrives as exact decimals, identifiers keep their zeros.
        #expect(orders.records.allSatisfy { if case .decimal? = $0["total"] { true } else { false } })
        let products = try await extractJSON(type: "aurora-rest", url: server.auroraRESTURL, connection: credentials,
                                             stage: "resource: products, page_size: 25")
        #expect(ids(products.records, "productId") == (1...130).map(Int64.init))
        // Each distinct notice is one warning, however many pages carried it.
        #expect(products.warnings == ["API notice: \(AuroraRESTAPI.notice)"])
        #expect(server.state.requestCount > 14 + 6)   // faults made it retry
        await server.stop()
    }

    @Test func aTokenThatExpiresDuringTheRunIsRefreshed() async throws {
        var config = DemoStoreConfig(orders: 300, products: 10, seed: 22, latency: .milliseconds(40))
        config.tokenLifetime = 1
        let server = try await DemoStoreServer.start(config)
        let orders = try await extractJSON(type: "aurora-rest", url: server.auroraRESTURL, connection: credentials + ", concurrency: 2",
                                           stage: "resource: orders, page_size: 10")
        #expect(ids(orders.records, "orderId") == (1_000_000..<1_000_300).map(Int64.init))
        #expect(server.state.tokensIssued >= 2)
        await server.stop()
    }

    @Test func unknownQueryParametersGetTheDocumented400() async throws {
        let server = try await DemoStoreServer.start(DemoStoreConfig(orders: 10, products: 10))
        do {
            _ = try await extractJSON(type: "aurora-rest", url: server.auroraRESTURL, connection: credentials,
                                      stage: "resource: orders, query: { incorrect: abc }")
            Issue.record("must fail")
        } catch {
            #expect("\(error)" == "stage 'data': page 1: Validation Error (400) from \(server.auroraRESTURL)/v2/orders: incorrect: This field was not expected.")
            #expect(!"\(error)".contains("not-a-real-secret-91"))
        }
        await server.stop()
    }

    @Test func aWrongSecretFailsWithoutShowingIt() async throws {
        var config = DemoStoreConfig(orders: 10, products: 10)
        config.clientSecret = "the-right-one"
        let server = try await DemoStoreServer.start(config)
        do {
            _ = try await extractJSON(type: "aurora-rest", url: server.auroraRESTURL, connection: credentials, stage: "resource: orders")
            Issue.record("must fail")
        } catch {
            #expect("\(error)" == "stage 'data': access token: Unauthorized (401) from \(server.auroraRESTURL)/v2/access_token: client: unknown client_id or wrong client_secret")
            #expect(!"\(error)".contains("not-a-real-secret-91") && !"\(error)".contains("the-right-one"))
        }
        await server.stop()
    }
}

@Suite struct AmeriCommerceConnectorTests {
    @Test func everyRecordExactlyOnceWithFaultsAnd429s() async throws {
        var config = DemoStoreConfig(orders: 450, products: 170, seed: 23, faults: try FaultPlan(parsing: "500=0.1,close=0.1,cut=0.1"))
        // 8 pages in flight against 3 allowed a second: some are refused whatever the machine's
        // pace (8 concurrent requests would have to spread over 3 seconds), and 12 retries leave
        // room for a page that keeps losing the race.
        config.requestsPerSecond = 3
        let server = try await DemoStoreServer.start(config)
        let products = try await extractJSON(type: "americommerce", url: server.americommerceURL, connection: "token: t0k3n-secret, concurrency: 8, retries: 12",
                                             stage: "resource: products, count: 10, expand: [variants]")
        #expect(ids(products.records, "id") == (1...170).map(Int64.init))
        #expect(products.records.allSatisfy { if case .array? = $0["variants"] { true } else { false } })
        #expect(server.state.rateLimitedCount > 0)   // the store's limit was hit and honoured
        await server.stop()
    }

    @Test func theClientRateLimitKeepsToItsPace() async throws {
        var config = DemoStoreConfig(orders: 200, products: 10, seed: 24)
        config.requestsPerSecond = 20
        let server = try await DemoStoreServer.start(config)
        let orders = try await extractJSON(type: "americommerce", url: server.americommerceURL,
                                           connection: "token: t, concurrency: 8, rate_limit: 10", stage: "resource: orders, count: 10")
        #expect(ids(orders.records, "id") == (1_000_000..<1_000_200).map(Int64.init))
        #expect(server.state.rateLimitedCount == 0)
        // 20 pages at 10 requests per second take at least 1.9 s from first to last, though 8 could go at once;
        // the last page is full, so one more request looks past the total (it finds nothing).
        let times = server.state.requestTimes
        #expect(times.count == 21)
        #expect(times.last! - times.first! >= .milliseconds(1800))
        await server.stop()
    }

    @Test func filtersFieldsAndSortArePassedThrough() async throws {
        let server = try await DemoStoreServer.start(DemoStoreConfig(orders: 10, products: 90, seed: 25))
        let all = try await extractJSON(type: "americommerce", url: server.americommerceURL, connection: "token: t",
                                        stage: "resource: products, count: 50")
        let enabled = try await extractJSON(type: "americommerce", url: server.americommerceURL, connection: "token: t",
                                            stage: "resource: products, count: 7, filters: { is_enabled: \"true\" }, fields: [id, item_number, is_enabled], sort: \"-id\"")
        let expected = all.records.filter { $0["is_enabled"] == .bool(true) }.map { $0["id"]! }.reversed()
        #expect(enabled.records.map { $0["id"]! } == Array(expected))
        #expect(enabled.records.allSatisfy { Array($0.fields.keys) == ["id", "item_number", "is_enabled"] })
        do {
            _ = try await extractJSON(type: "americommerce", url: server.americommerceURL, connection: "token: t",
                                      stage: "resource: products, filters: { colour: red }")
            Issue.record("must fail")
        } catch {
            #expect("\(error)" == "stage 'data': page 1: HTTP 400 Bad Request from \(server.americommerceURL)/api/v1/products: 'colour' is not a parameter or a field of products")
        }
        await server.stop()
    }

    @Test func aMissingTokenIsA401() async throws {
        var config = DemoStoreConfig(orders: 10, products: 10)
        config.token = "right"
        let server = try await DemoStoreServer.start(config)
        do {
            _ = try await extractJSON(type: "americommerce", url: server.americommerceURL, connection: "token: wrong-t0ken", stage: "resource: orders")
            Issue.record("must fail")
        } catch {
            #expect("\(error)" == "stage 'data': page 1: HTTP 401 Unauthorized from \(server.americommerceURL)/api/v1/orders: a valid X-AC-Auth-Token header is required")
        }
        await server.stop()
    }
}

@Suite struct JSONReaderTests {
    @Test func numbersStayExactAndKeysKeepTheirOrder() throws {
        let value = try JSONReader.parse(Array(#"{"z": 19.99, "a": [1, -0.10, 1e2, 12345678901234567890.5], "s": "A\u00e9\"\n😀\ud83d\ude00", "n": null, "t": true}"#.utf8))
        guard case .object(let r) = value else { Issue.record("not an object"); return }
        #expect(Array(r.fields.keys) == ["z", "a", "s", "n", "t"])
        #expect(r["z"]?.flatText == "19.99")
        #expect(r["a"] == .array([.integer(1), .decimal(ExactDecimal(parsing: "-0.10")!), .decimal(ExactDecimal(parsing: "100")!),
                                  .decimal(ExactDecimal(parsing: "12345678901234567890.5")!)]))
        #expect(r.at("a.1")?.flatText == "-0.10")
        #expect(r["s"] == .string("Aé\"\n😀😀"))
        #expect(r["n"] == .null && r["t"] == .bool(true))
    }

    @Test func errorsSayWhere() {
        #expect(throws: JSONSyntaxError(offset: 8, message: "expected ',' or '}'")) { try JSONReader.parse(Array(#"{"a": 1 "b": 2}"#.utf8)) }
        #expect(throws: JSONSyntaxError(offset: 9, message: "the JSON ends early")) { try JSONReader.parse(Array(#"{"a": [1,"#.utf8)) }
        #expect(throws: JSONSyntaxError.self) { try JSONReader.parse(Array("[01x]".utf8)) }
    }

    @Test func recordedPagesReplay() async throws {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        let name = UUID().uuidString, name2 = UUID().uuidString
        let yaml = """
            version: 1
            name: replay-json
            connections:
              rest: { type: files, dialect: aurora-rest, paths: [samples/aurora-rest/orders-page-*.json] }
              ac: { type: files, dialect: americommerce, paths: [samples/americommerce/products-page-*.json] }
            extract:
              orders: { connection: rest, resource: orders }
              products: { connection: ac, resource: products }
            load:
              a: { input: orders, collect: { name: "\(name)" } }
              b: { input: products, collect: { name: "\(name2)" } }
            """
        let pipeline = try #require(PipelineLoader.load(yaml: yaml, file: "t.yml", environment: [:], registry: connectorRegistry).pipeline)
        _ = try await PipelineRunner(pipeline: pipeline, log: quietLog(), workingDirectory: dir.path).run()
        #expect(ids(Collected.shared.take(name), "orderId") == (1_000_000..<1_000_006).map(Int64.init))
        let products = Collected.shared.take(name2)
        #expect(ids(products, "id") == [1, 2, 3, 4, 5])
        #expect(products.contains { $0.at("variants.0.ean")?.flatText?.hasPrefix("00") == true })

        try "{\"payload\": {\"items\": [1,]}}".write(to: dir.appendingPathComponent("bad.json"), atomically: true, encoding: .utf8)
        let bad = try #require(PipelineLoader.load(yaml: yaml.replacingOccurrences(of: "samples/aurora-rest/orders-page-*.json", with: "bad.json"),
                                                   file: "t.yml", environment: [:], registry: connectorRegistry).pipeline)
        // The products extract runs beside it and may have finished and saved a checkpoint first:
        // then the run stops keeping that (RunStopped around the same error) rather than failing bare.
        do {
            _ = try await PipelineRunner(pipeline: bad, log: quietLog(), workingDirectory: dir.path).run()
            Issue.record("a malformed replay file was accepted")
        } catch {
            #expect(((error as? RunStopped)?.underlying ?? error) is StageError)
            #expect("\(error)" == "stage 'orders': bad.json:1:26: unexpected character ']'")
        }
    }
}

/// A plain HTTP GET, independent of the connectors.
func get(_ url: String, headers: [(String, String)]) async throws -> (Int, Value?) {
    var request = HTTPClientRequest(url: url)
    for (k, v) in headers { request.headers.add(name: k, value: v) }
    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
    let data = try await response.body.collect(upTo: 16 << 20)
    return (Int(response.status.code), try? JSONReader.parse(Array(data.readableBytesView)))
}

@Suite struct DemoStoreJSONEndpointTests {
    @Test func ameriCommerceSingleFilledNestedAndSelectMany() async throws {
        let server = try await DemoStoreServer.start(DemoStoreConfig(orders: 30, products: 12, seed: 31))
        let h = [("X-AC-Auth-Token", "t")]
        let base = server.americommerceURL + "/api/v1"
        let (s1, single) = try await get(base + "/products/3", headers: h)
        #expect(s1 == 200 && single?.record?["id"] == .integer(3) && single?.record?["variants"] == nil)
        let (_, filled) = try await get(base + "/products/3/filled", headers: h)
        let variants = filled?.record?["variants"]
        #expect(filled?.record?["categories"] != nil && variants != nil)
        let (_, nested) = try await get(base + "/products/3/variants", headers: h)
        #expect(nested?.record?["variants"] == variants)
        #expect(nested?.record?["total_count"] == .integer(Int64(filled?.record?.array("variants").count ?? -1)))
        let (_, many) = try await get(base + "/orders/select_many?ids=1000002,1000009,5&fields=id,grand_total", headers: h)
        #expect(many?.record?.array("orders").compactMap { $0.record?["id"] } == [.integer(1_000_002), .integer(1_000_009)])
        #expect(many?.record?.array("orders").allSatisfy { Array($0.record!.fields.keys) == ["id", "grand_total"] } == true)
        let (s2, noIDs) = try await get(base + "/orders/select_many", headers: h)
        #expect(s2 == 400)
        #expect(noIDs == .object(["status_code": .integer(400), "message": .string("Bad Request"),
                                  "details": .string("This method requires one or more resource IDs to be specified")]))
        let (s3, _) = try await get(base + "/products/99", headers: h)
        let (s4, _) = try await get(base + "/products", headers: [])
        #expect(s3 == 404 && s4 == 401)
        await server.stop()
    }

    @Test func auroraSingleOrderAndNotFound() async throws {
        let server = try await DemoStoreServer.start(DemoStoreConfig(orders: 30, products: 12, seed: 32))
        var request = HTTPClientRequest(url: server.auroraRESTURL + "/v2/access_token")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Basic YTpi")
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.body = .bytes(ByteBuffer(string: "client_id=a&client_secret=b&grant_type=client_credentials"))
        let reply = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let tokenBody = try JSONReader.parse(Array(try await reply.body.collect(upTo: 1 << 16).readableBytesView))
        guard case .string(let token)? = tokenBody.record?["access_token"] else { Issue.record("no token"); return }
        #expect(tokenBody.record?["token_type"] == .string("Bearer"))
        let auth = [("Authorization", "Bearer \(token)")]
        let (s1, one) = try await get(server.auroraRESTURL + "/v2/orders/1000007", headers: auth)
        #expect(s1 == 200)
        #expect(one?.record?.at("payload.order.0.orderId") == .integer(1_000_007))
        let (s2, missing) = try await get(server.auroraRESTURL + "/v2/orders/9999999999", headers: auth)
        #expect(s2 == 404 && missing?.record?["title"] == .string("Not Found") && missing?.record?["status"] == .integer(404))
        let (s3, _) = try await get(server.auroraRESTURL + "/v2/orders", headers: [])
        #expect(s3 == 401)
        await server.stop()
    }
}
