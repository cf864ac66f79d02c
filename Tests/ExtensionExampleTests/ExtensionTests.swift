// The README's "Adding a stage kind", shown: a load format and a step defined in this test
// target (one file each) are registered with one line each and run in a pipeline against the
// demo store, with checkpoints, an interrupted run and its resumption.
import CommerceETL
import DemoStore
import Foundation
import Logging
import Synchronization
import Testing

@Suite struct ExtensionTests {
    static let registry: StageRegistry = {
        var registry = StageRegistry.standard
        registry.register(JSONLinesLoad.self)
        registry.register(UppercaseStep.self)
        registry.register(FailAfterStep.self)
        return registry
    }()

    static let yaml = """
        version: 1
        name: extension-example
        checkpoint_every: 1
        connections:
          store: { type: aurora-xml, url: "demo:?orders=400", concurrency: 2 }
        extract:
          orders: { connection: store, resource: orders, page_size: 20 }
        transform:
          lines:
            input: orders
            workers: 1
            steps:
              # Orders in USD convert with their own ExchangeRate; the others have no rate and are
              # quarantined, so the quarantine file takes part in the checkpoints too.
              - convert_currency: { to: USD }
                on_error: { quarantine: out/unconverted.ndjson }
              - explode: { path: Items, parent_as: order }
              - select: { order_id: order.OrderID, sku: VariationReference, status: order.OrderStatus, price: Price }
              - uppercase: [sku, status]
              - fail_after: ${FAIL_AFTER:-0}
        load:
          lines_jsonl: { input: lines, jsonl: { path: out/lines.jsonl } }
          lines_csv: { input: lines, csv: { path: out/lines.csv } }
        """

    func run(in dir: URL, failAfter: Int? = nil) async throws -> RunReport {
        let environment = failAfter.map { ["FAIL_AFTER": String($0)] } ?? [:]
        let outcome = PipelineLoader.load(yaml: Self.yaml, file: "extension.yml", environment: environment, registry: Self.registry)
        #expect(outcome.diagnostics.isEmpty, "\(outcome.diagnostics)")
        let pipeline = try #require(outcome.pipeline)
        var logger = Logger(label: "extension-test")
        logger.logLevel = .critical
        return try await PipelineRunner(pipeline: pipeline, log: RunLog(logger: logger), workingDirectory: dir.path,
                                        storeLauncher: DemoStoreLauncher()).run()
    }

    func scratch() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("extension-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func extraKindsRunWithCheckpointsAndResume() async throws {
        let reference = try scratch(), dir = try scratch()
        defer {
            try? FileManager.default.removeItem(at: reference)
            try? FileManager.default.removeItem(at: dir)
        }
        let full = try await run(in: reference)
        let lines = try String(contentsOf: reference.appendingPathComponent("out/lines.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(full.stages.first { $0.id == "lines_jsonl" }?.rows == lines.count)
        #expect(lines.count > 50)
        // The step did its work (the store's statuses are `Pending`, `Despatched`, ...), and the CSV has a row per line.
        #expect(lines.contains { $0.contains("\"status\":\"PENDING\"") })
        #expect(!lines.contains { $0.contains("\"status\":\"Pending\"") })
        let csv = try String(contentsOf: reference.appendingPathComponent("out/lines.csv"), encoding: .utf8).split(separator: "\n")
        #expect(csv.count == lines.count + 1)

        // A run that fails part way keeps what its checkpoints made durable...
        await #expect(throws: RunStopped.self) { try await run(in: dir, failAfter: lines.count / 2) }
        let state = dir.appendingPathComponent(".commerce-etl/state/extension-example/checkpoint.json")
        let saved = try #require(try SavedCheckpoint.load(directory: state.deletingLastPathComponent().path))
        let jsonlState = try #require(saved.extracts["orders"]?.outputs["lines_jsonl"])
        let offset = try #require(jsonlState["offset"]?.int)
        #expect(offset > 0)
        #expect(saved.extracts["orders"]?.outputs["quarantine(out/unconverted.ndjson)"]?["opened"] == .bool(true))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("out/lines.jsonl").path))

        // ...and the next run continues it, giving the same bytes as the uninterrupted run.
        let resumed = try await run(in: dir)
        #expect(resumed.runID == saved.runID)
        let quarantined = try String(contentsOf: reference.appendingPathComponent("out/unconverted.ndjson"), encoding: .utf8).split(separator: "\n")
        #expect(quarantined.count > 10 && quarantined.count < 390)
        #expect(full.quarantine.first?.rows == quarantined.count)
        for file in ["out/lines.jsonl", "out/lines.csv", "out/unconverted.ndjson"] {
            #expect(try Data(contentsOf: dir.appendingPathComponent(file)) == Data(contentsOf: reference.appendingPathComponent(file)), "\(file)")
        }
        #expect(!FileManager.default.fileExists(atPath: state.path))
    }

    @Test func extraKindsAreInTheSchemaAndTheDocs() throws {
        let docs = OptionReference.markdown(Self.registry)
        #expect(docs.contains("#### Load `jsonl`"))
        #expect(docs.contains("#### Step `uppercase`"))
        let schema = PipelineSchema.text(Self.registry)
        #expect(schema.contains("\"jsonl\""))
        #expect(schema.contains("\"uppercase\""))
        // A misspelled key of the new load is located like any other.
        let outcome = PipelineLoader.load(yaml: Self.yaml.replacingOccurrences(of: "jsonl: { path:", with: "jsonl: { pth:"),
                                          file: "extension.yml", environment: [:], registry: Self.registry)
        #expect(outcome.diagnostics.map(\.description).contains { $0.contains("unknown key 'pth' in 'load.lines_jsonl.jsonl' (did you mean 'path'?)") })
    }
}

/// Test scaffolding, not part of the example: `fail_after: N` fails the run at the Nth record
/// (0: never), so the test can interrupt a run part way without a pipeline file change (the
/// number comes from the environment, which a checkpoint does not compare).
struct FailAfterStep: StepKind {
    static let name = "fail_after"
    static let value = OptionSpec(name, .integer(0...Int.max), doc: "fails the run at this record (0: never)", example: "0")
    static let seen = Mutex(0)
    var limit: Int

    static func parse(_ value: ConfigValue) -> (any TransformStep)? {
        value.integer(in: 0...Int.max).map { FailAfterStep(limit: $0) }
    }

    func apply(_ records: [Record]) throws -> [Record] {
        guard limit > 0 else { return records }
        let total = Self.seen.withLock { seen in
            seen += records.count
            return seen
        }
        if total >= limit { throw FailAfterError() }
        return records
    }
}

struct FailAfterError: Error, CustomStringConvertible {
    var description: String { "failing on purpose, part way through the run" }
}
