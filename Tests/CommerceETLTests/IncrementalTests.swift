// Incremental extracts: bookmarks saved after a successful run, only changed records next time,
// and a failed run that leaves the bookmark where it was.
import Foundation
import Testing
@testable import CommerceETL
@testable import DemoStore

@Suite struct IncrementalTests {
    private func pipeline(url: String, collect: String, extra: String = "", lookback: String = "PT0S") throws -> Pipeline {
        let yaml = """
            version: 1
            name: incremental-test
            connections:
              store: { type: aurora-xml, url: "\(url)", token: t }
            extract:
              orders: { connection: store, resource: orders, page_size: 50, incremental: { field: DateModified, lookback: \(lookback) } }
            \(extra.isEmpty ? "" : "transform:\n  checked: { input: orders, steps: [ \(extra) ] }")
            load:
              sink: { input: \(extra.isEmpty ? "orders" : "checked"), collect: { name: "\(collect)" } }
            """
        let outcome = PipelineLoader.load(yaml: yaml, file: "t.yml", environment: [:], registry: connectorRegistry)
        guard let p = outcome.pipeline else { throw ETLError(outcome.diagnostics.map(\.description).joined(separator: "\n")) }
        return p
    }

    @Test func theSecondRunExportsExactlyTheChangedRecords() async throws {
        let server = try await DemoStoreServer.start(DemoStoreConfig(orders: 300, products: 10, seed: 51))
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        func run(_ extra: String = "") async throws -> [Record] {
            let name = UUID().uuidString
            _ = try await PipelineRunner(pipeline: try pipeline(url: server.xmlURL, collect: name, extra: extra), log: quietLog(),
                                         workingDirectory: dir.path).run()
            return Collected.shared.take(name)
        }
        let first = try await run()
        #expect(first.count == 300)
        let state = try PipelineState(directory: PipelineState.defaultDirectory(pipeline: "incremental-test", workingDirectory: dir.path))
        let bookmark = try #require(state.bookmark("orders"))
        let newest = (0..<300).map { server.state.orderHeader($0).modified }.max()!
        #expect(bookmark.epochSeconds == newest)

        for index in [3, 150, 299] { server.state.changeOrder(index: index) }
        #expect(ids(try await run(), "OrderID") == [1_000_003, 1_000_150, 1_000_299])
        // Nothing changed since: nothing to export.
        #expect(try await run().isEmpty)

        // A run that fails after extracting does not move the bookmark.
        server.state.changeOrder(index: 7)
        await #expect(throws: StageError.self) { try await run("{ convert_currency: { to: CHF } }") }
        #expect(ids(try await run(), "OrderID") == [1_000_007])

        // Reset: the next run starts over.
        try PipelineState.reset(directory: PipelineState.defaultDirectory(pipeline: "incremental-test", workingDirectory: dir.path), stage: "orders")
        #expect(try await run().count == 300)
        await server.stop()
    }

    @Test func trackingAcknowledgesExactlyTheExportedOrdersAfterCommit() async throws {
        let server = try await DemoStoreServer.start(DemoStoreConfig(orders: 260, products: 10, seed: 52))
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        func run(_ filter: String, fail: Bool = false) async throws -> [Record] {
            let name = UUID().uuidString
            let yaml = """
                version: 1
                name: tracking-test
                connections: { store: { type: aurora-xml, url: "\(server.xmlURL)", token: t } }
                extract:
                  orders: { connection: store, resource: orders, page_size: 40, tracking: { filter: \(filter), acknowledge: true } }
                transform:
                  checked: { input: orders, steps: [ \(fail ? "{ convert_currency: { to: CHF } }" : "{ drop: [Nothing] }") ] }
                load:
                  sink: { input: checked, collect: { name: "\(name)" } }
                """
            let outcome = PipelineLoader.load(yaml: yaml, file: "t.yml", environment: [:], registry: connectorRegistry)
            let pipeline = try #require(outcome.pipeline, "\(outcome.diagnostics)")
            _ = try await PipelineRunner(pipeline: pipeline, log: quietLog(), workingDirectory: dir.path).run()
            return Collected.shared.take(name)
        }
        // A run that fails before committing marks nothing as sent.
        await #expect(throws: StageError.self) { try await run("unsent", fail: true) }
        #expect(server.state.sentOrders.isEmpty)

        #expect(try await run("unsent").count == 260)
        #expect(server.state.sentOrders.count == 260)
        #expect(try await run("unsent").isEmpty)

        for index in [10, 20] { server.state.changeOrder(index: index) }
        #expect(ids(try await run("changed"), "OrderID") == [1_000_010, 1_000_020])
        // Acknowledged again, so nothing has changed since it was sent.
        #expect(try await run("changed").isEmpty)
        await server.stop()
    }

    @Test func acrossThreeRunsWithNewOrdersArrivingEachOrderIsExportedAndAcknowledgedOnce() async throws {
        let server = try await DemoStoreServer.start(DemoStoreConfig(orders: 300, products: 10, seed: 53))
        server.state.holdBackOrders(after: 170)
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        func run() async throws -> [Int64] {
            let name = UUID().uuidString
            let yaml = """
                version: 1
                name: tracking-three-runs
                connections: { store: { type: aurora-xml, url: "\(server.xmlURL)", token: t, concurrency: 3 } }
                extract:
                  orders: { connection: store, resource: orders, page_size: 25, tracking: { filter: unsent, acknowledge: true } }
                load:
                  sink: { input: orders, collect: { name: "\(name)" } }
                """
            let outcome = PipelineLoader.load(yaml: yaml, file: "t.yml", environment: [:], registry: connectorRegistry)
            let pipeline = try #require(outcome.pipeline, "\(outcome.diagnostics)")
            _ = try await PipelineRunner(pipeline: pipeline, log: quietLog(), workingDirectory: dir.path).run()
            return Collected.shared.take(name).compactMap { if case .integer(let id)? = $0["OrderID"] { id } else { nil } }
        }
        let first = try await run()
        #expect(first == (0..<170).map { 1_000_000 + Int64($0) })
        server.state.placeOrders(upTo: 235)
        server.state.changeOrder(index: 4)      // already sent: the unsent filter leaves it out
        let second = try await run()
        #expect(second == (170..<235).map { 1_000_000 + Int64($0) })
        server.state.placeOrders(upTo: 300)
        let third = try await run()
        #expect(third == (235..<300).map { 1_000_000 + Int64($0) })

        let all = first + second + third
        #expect(all.count == 300 && Set(all).count == 300, "no order missed or exported twice")
        let counts = server.state.sentCounts
        #expect(counts.count == 300)
        #expect(counts.values.allSatisfy { $0 == 1 }, "no order acknowledged twice")
        await server.stop()
    }

    @Test func ameriCommerceIncrementalOnUpdatedAt() async throws {
        let server = try await DemoStoreServer.start(DemoStoreConfig(orders: 10, products: 140, seed: 53))
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        func run() async throws -> [Record] {
            let name = UUID().uuidString
            let yaml = """
                version: 1
                name: ac-incremental
                connections: { store: { type: americommerce, url: "\(server.americommerceURL)", token: t } }
                extract:
                  products: { connection: store, resource: products, count: 30, incremental: { field: updated_at, lookback: PT0S } }
                load:
                  sink: { input: products, collect: { name: "\(name)" } }
                """
            let pipeline = try #require(PipelineLoader.load(yaml: yaml, file: "t.yml", environment: [:], registry: connectorRegistry).pipeline)
            _ = try await PipelineRunner(pipeline: pipeline, log: quietLog(), workingDirectory: dir.path).run()
            return Collected.shared.take(name)
        }
        #expect(try await run().count == 140)
        for index in [5, 77] { server.state.changeProduct(index: index) }
        #expect(ids(try await run(), "id") == [6, 78])
        #expect(try await run().isEmpty)
        await server.stop()
    }

    @Test func settingsAreValidated() {
        let outcome = PipelineLoader.load(yaml: """
            version: 1
            name: t
            connections: { s: { type: aurora-xml, url: demo } }
            extract:
              a: { connection: s, resource: orders, incremental: { field: Modified, lookback: P1M } }
              b: { connection: s, resource: orders, interval: P1D, incremental: { field: DateCreated } }
            load: { l: { input: a, csv: { path: a.csv } }, m: { input: b, csv: { path: b.csv } } }
            """, file: "i.yml", environment: [:])
        #expect(outcome.diagnostics.map(\.description) == [
            "i.yml:5:63: error: 'extract.a.incremental.field' must be one of DateModified, DateCreated, found 'Modified'",
            "i.yml:5:83: error: 'extract.a.incremental.lookback' must be an ISO 8601 duration of days, hours, minutes or seconds such as PT10S or P1DT2H, found 'P1M'",
            "i.yml:6:56: error: 'extract.b' may have 'incremental' or 'interval'/'since', not both",
        ])
        #expect(Incremental.seconds("PT10S") == 10 && Incremental.seconds("P1DT2H") == 93_600 && Incremental.seconds("PT0S") == 0)
    }
}
