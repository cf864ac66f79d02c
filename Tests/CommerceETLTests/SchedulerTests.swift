import Foundation
import Synchronization
import Testing
@testable import CommerceETL

// Test-only stage kinds, registered beside the standard ones: a synthetic source that counts what
// it has emitted, and a load that records what it received (optionally slowly, or failing).

final class Probe: Sendable {
    private let state = Mutex<(emitted: Int, consumed: Int, maxLag: Int, received: [Int64])>((0, 0, 0, []))
    func emitted(_ n: Int) { state.withLock { $0.emitted += n } }
    func consumed(_ records: [Record]) {
        state.withLock { s in
            s.maxLag = max(s.maxLag, s.emitted - s.consumed)
            s.consumed += records.count
            for r in records { if case .integer(let n)? = r["n"] { s.received.append(n) } }
        }
    }
    var emittedCount: Int { state.withLock { $0.emitted } }
    var maxLag: Int { state.withLock { $0.maxLag } }
    var received: [Int64] { state.withLock { $0.received } }

    nonisolated(unsafe) static var registry: [String: Probe] = [:]
    static let lock = Mutex(())
    static func named(_ name: String) -> Probe {
        lock.withLock { _ in
            if let p = registry[name] { return p }
            let p = Probe()
            registry[name] = p
            return p
        }
    }
}

struct SyntheticConnection: Connection {
    var summary: String { "synthetic" }
    static func parse(_ config: ConfigMap) -> (any Connection)? { SyntheticConnection() }
    func extractor(stage: String, config: ConfigMap) -> (any Extractor)? {
        guard let probe = config.string("probe", required: true) else { return nil }
        let count = config.integer("count") ?? 100
        return SyntheticExtractor(probe: probe, count: count)
    }
}

struct SyntheticExtractor: Extractor {
    var probe: String
    /// Records to produce; 0 means until cancelled.
    var count: Int
    func run(_ output: RecordEmitter, context: RunContext) async throws {
        let p = Probe.named(probe)
        var n: Int64 = 0
        while count == 0 || n < count {
            try await output.emit(["n": .integer(n)])
            p.emitted(1)
            n += 1
        }
    }
}

struct ProbeLoad: LoadFormat {
    var probe: String
    var delayMicroseconds: UInt32
    var failAfterBatches: Int?
    var target: String { "probe \(probe)" }
    static func parse(_ value: ConfigValue) -> (any LoadFormat)? {
        guard let c = value.map(), let probe = c.string("probe", required: true) else { return nil }
        return ProbeLoad(probe: probe, delayMicroseconds: UInt32(c.integer("delay_us") ?? 0), failAfterBatches: c.integer("fail_after"))
    }
    func makeWriter(_ run: RunContext, resume: Value?) throws -> any LoadWriter { ProbeWriter(load: self) }
}

final class ProbeWriter: LoadWriter {
    let load: ProbeLoad
    var batches = 0
    init(load: ProbeLoad) { self.load = load }
    func write(_ records: [Record]) throws {
        if load.delayMicroseconds > 0 { usleep(load.delayMicroseconds) }
        Probe.named(load.probe).consumed(records)
        batches += 1
        if let limit = load.failAfterBatches, batches >= limit { throw ETLError("disk full (simulated)") }
    }
    func finish() throws -> LoadResult { LoadResult(staged: [], rows: 0, bytes: 0) }
    func abort() {}
    // Memory only: nothing to make durable or to continue.
    func checkpoint(final: Bool) throws -> Value { .null }
    func restart() throws {}
    func suspend() {}
}

/// Sleeps a varying time per batch so parallel workers finish out of order.
struct JitterStep: TransformStep {
    static func parse(_ value: ConfigValue) -> (any TransformStep)? { JitterStep() }
    func apply(_ records: [Record]) throws -> [Record] {
        if case .integer(let n)? = records.first?["n"] { usleep(UInt32((n * 7919) % 5) * 1000) }
        return records
    }
}

let testRegistry: StageRegistry = {
    var r = StageRegistry.standard
    r.connections.append(.init(name: "synthetic", parse: SyntheticConnection.parse))
    r.loads.append(.init(name: "probe", parse: ProbeLoad.parse))
    r.steps.append(.init(name: "jitter", parse: JitterStep.parse))
    return r
}()

func syntheticPipeline(probe: String, count: Int, batch: Int, buffer: Int, load: String, transform: String? = nil) throws -> Pipeline {
    let yaml = """
        version: 1
        name: synthetic
        connections:
          gen: { type: synthetic }
        extract:
          source: { connection: gen, probe: \(probe), count: \(count), batch_size: \(batch), buffer: \(buffer) }
        \(transform.map { "transform:\n  \($0)" } ?? "")
        load:
          sink: { input: \(transform == nil ? "source" : "middle"), probe: \(load) }
        """
    let outcome = PipelineLoader.load(yaml: yaml, file: "synthetic.yml", environment: [:], registry: testRegistry)
    guard let pipeline = outcome.pipeline else { throw ETLError(outcome.diagnostics.map(\.description).joined(separator: "\n")) }
    return pipeline
}

@Suite struct SchedulerTests {
    @Test func aSlowLoadHoldsBackTheExtract() async throws {
        let name = "backpressure-\(UUID())"
        let pipeline = try syntheticPipeline(probe: name, count: 2000, batch: 10, buffer: 2,
                                             load: "{ probe: \(name), delay_us: 1000 }")
        _ = try await PipelineRunner(pipeline: pipeline, log: quietLog(), stateDirectory: Fixtures.scratchState()).run()
        let probe = Probe.named(name)
        #expect(probe.received.count == 2000)
        // At most: the batch being written, two buffered, the one being sent, the one being filled.
        #expect(probe.maxLag <= 10 * 5, "extract ran \(probe.maxLag) records ahead of the load")
    }

    @Test(.timeLimit(.minutes(1)))
    func theFirstErrorCancelsEveryStageAndNamesIt() async throws {
        let name = "cancel-\(UUID())"
        let pipeline = try syntheticPipeline(probe: name, count: 0, batch: 5, buffer: 2,
                                             load: "{ probe: \(name), fail_after: 3 }")
        do {
            _ = try await PipelineRunner(pipeline: pipeline, log: quietLog(), stateDirectory: Fixtures.scratchState()).run()
            Issue.record("the run should fail")
        } catch {
            #expect("\(error)" == "stage 'sink': disk full (simulated)")
        }
        // The endless extract was stopped, not left running.
        let stopped = Probe.named(name).emittedCount
        try await Task.sleep(for: .milliseconds(50))
        #expect(Probe.named(name).emittedCount == stopped)
    }

    @Test(.timeLimit(.minutes(1)))
    func cancellingTheRunStopsIt() async throws {
        let name = "interrupt-\(UUID())"
        let pipeline = try syntheticPipeline(probe: name, count: 0, batch: 5, buffer: 2,
                                             load: "{ probe: \(name), delay_us: 100 }")
        let task = Task { try await PipelineRunner(pipeline: pipeline, log: quietLog(), stateDirectory: Fixtures.scratchState()).run() }
        try await Task.sleep(for: .milliseconds(100))
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
    }

    @Test func parallelWorkersKeepTheOrder() async throws {
        let name = "order-\(UUID())"
        let pipeline = try syntheticPipeline(
            probe: name, count: 600, batch: 7, buffer: 3, load: "{ probe: \(name) }",
            transform: "middle: { input: source, workers: 4, steps: [ { jitter: {} } ] }")
        _ = try await PipelineRunner(pipeline: pipeline, log: quietLog(), stateDirectory: Fixtures.scratchState()).run()
        #expect(Probe.named(name).received == (0..<600).map(Int64.init))
    }

    @Test func channelSuspendsTheSenderWhenFull() async throws {
        let channel = BoundedChannel<Int>(capacity: 2)
        let sent = Mutex(0)
        let producer = Task {
            for i in 0..<10 {
                try await channel.send(i)
                sent.withLock { $0 += 1 }
            }
            channel.finish()
        }
        try await Task.sleep(for: .milliseconds(50))
        #expect(sent.withLock { $0 } == 2)
        #expect(channel.count == 2)
        var got: [Int] = []
        while let v = try await channel.receive() { got.append(v) }
        try await producer.value
        #expect(got == Array(0..<10))
    }

    /// Every reader of a batch hands its records back to the stage that made them, which frees
    /// them between its batches; marks and empty batches hand back nothing.
    @Test func readersHandRecordsBackToTheirMaker() {
        let home = ReturnedRecords()
        let batch = Batch(records: (0..<3).map { Record(["n": .integer(Int64($0)), "s": .string(String(repeating: "x", count: 40))]) }, home: home)
        let readers = [batch, batch]
        for reader in readers { reader.retire() }
        #expect(home.count == 2)
        #expect(readers[0].records.map { $0["n"] } == [.integer(0), .integer(1), .integer(2)])
        home.release()
        #expect(home.count == 0)
        Batch(records: [], mark: nil, home: home).retire()
        #expect(home.count == 0)
    }

    @Test func aFailedChannelWakesBothSides() async throws {
        let channel = BoundedChannel<Int>(capacity: 1)
        try await channel.send(1)
        let blocked = Task { try await channel.send(2) }
        try await Task.sleep(for: .milliseconds(20))
        channel.fail(ETLError("boom"))
        await #expect(throws: ETLError("boom")) { try await blocked.value }
        await #expect(throws: ETLError("boom")) { try await channel.receive() }
    }
}
