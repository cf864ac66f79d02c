// The keys of a pipeline file that belong to no one stage kind: the top level, and what every
// extract, transform and load stage has.
import Foundation

enum PipelineKeys {
    static let version = Key.custom("version", .integer(1...1), required: true, doc: "the pipeline format version; must be 1", example: "1") { (v: ConfigValue) -> Int? in
        guard let n = v.integer() else { return nil }
        if n != 1 { v.error("unsupported pipeline format version \(n); this tool reads version 1") }
        return n
    }
    static let name = Key.string("name", required: true, doc: "the pipeline's name (letters, digits, `-`, `_`, `.`; at most 100 characters): it names its state directory and, by default, its manifest", example: "orders-export")
    static let description = Key.string("description", doc: "free text, shown by `plan`")
    static let baseDirectory = Key.string("base_dir", doc: "outputs go inside this directory (relative paths start there, and none may leave it)", example: "exports")
    static let manifest = Key.outputPath("manifest", required: false, doc: "where the run manifest goes (placeholders allowed); default: beside the first output", example: "out/{pipeline}-{run_date}.json")
    static let checkpointEvery = Key.integer("checkpoint_every", in: 1...1_000_000, doc: "pages between checkpoints of each extract").defaulting(50)
    static let connections = OptionSpec("connections", .mapOf(.any), required: true, doc: "named sources, referred to by extract stages")
    static let extract = OptionSpec("extract", .mapOf(.any), required: true, doc: "extract stages, keyed by stage id")
    static let transform = OptionSpec("transform", .mapOf(.any), doc: "transform stages, keyed by stage id")
    static let load = OptionSpec("load", .mapOf(.any), required: true, doc: "load stages, keyed by stage id")

    static var top: [OptionSpec] {
        [version.spec, name.spec, description.spec, baseDirectory.spec, manifest.spec, checkpointEvery.spec, connections, extract, transform, load]
    }

    // Every connection.
    static let type = OptionSpec("type", .string, required: true, doc: "the connection type")

    // Every extract stage.
    static let connection = Key.string("connection", required: true, doc: "a name from `connections`", example: "store")
    static let batchSize = Key.integer("batch_size", in: 1...100_000, doc: "records per batch passed downstream (with `buffer`, what bounds the records held between two stages)").defaulting(200)
    // Two batches: the reader works on one while the next waits. More did not make runs faster,
    // only let the peak memory creep up on long runs (orders-export at 400,000 orders: 67-72 MB
    // with 4, 60-65 MB with 2, the same CPU and wall time).
    static let buffer = Key.integer("buffer", in: 1...1024, doc: "batches buffered between this stage and each reader").defaulting(2)
    static let maxPages = Key.integer("max_pages", in: 1...1_000_000_000, doc: "the most pages (API answers or files) the stage may read; one more fails the run. A hard cap for users who want one: runaway paging is caught without it")

    static var extractOptions: [OptionSpec] { [connection.spec, batchSize.spec, buffer.spec, maxPages.spec] }

    // Every transform stage.
    static let input = Key.string("input", required: true, doc: "the stage whose records this one reads", example: "orders")
    static let workers = Key.integer("workers", in: 1...64, doc: "batches transformed in parallel; output order is kept")
        .defaulting(max(1, min(4, ProcessInfo.processInfo.activeProcessorCount)), shown: "cores, at most 4")
    static let steps = OptionSpec("steps", .list(.any), required: true, doc: "a list; each item is a map with one key, the step name, and optionally `on_error`")
    static let quarantine = Key.outputPath("quarantine", doc: "the NDJSON file that gets each record the step cannot process, with the reason (published with the outputs)",
                                           example: "out/unconverted.ndjson")
    static let onError = OptionSpec("on_error", .either(.choice(["fail", "skip"]), .options([quarantine.spec])),
        default: "`fail`", defaultValue: .string("fail"),
        doc: "what a step does with a record it cannot process: `fail` the run, `skip` it (counted), or `{ quarantine: PATH }`",
        example: "{ quarantine: out/unconverted.ndjson }")

    static var transformOptions: [OptionSpec] { [input.spec, steps, workers.spec, buffer.spec] }

    // Every load stage: `input` and exactly one format key.
    static var loadOptions: [OptionSpec] { [input.spec] }
}
