// The validated, ready-to-run form of a pipeline file.

public struct Pipeline: Sendable {
    public var file: String
    public var name: String
    public var description: String?
    /// Outputs go inside this directory (relative to the working directory); nil: the working directory.
    public var baseDirectory: String?
    /// Where the run manifest goes; nil: beside the first output.
    public var manifest: String?
    public var stages: [Stage]
    /// Pages between checkpoints of each extract.
    public var checkpointEvery: Int = Pipeline.defaultCheckpointEvery
    /// SHA-256 of the pipeline file's text: a run continues an interrupted one only if it is unchanged.
    public var digest: String = ""

    public init(file: String, name: String, description: String? = nil, baseDirectory: String? = nil, manifest: String? = nil,
                stages: [Stage], checkpointEvery: Int = Pipeline.defaultCheckpointEvery) {
        self.file = file
        self.name = name
        self.description = description
        self.baseDirectory = baseDirectory
        self.manifest = manifest
        self.stages = stages
        self.checkpointEvery = checkpointEvery
    }

    /// `checkpoint_every`'s default, as its declaration gives it.
    public static var defaultCheckpointEvery: Int { PipelineKeys.checkpointEvery.value }

    public func stage(_ id: String) -> Stage? { stages.first { $0.id == id } }

    /// The stages that read `id`'s output, in file order.
    public func consumers(of id: String) -> [Stage] { stages.filter { $0.input == id } }

    /// The extract a stage's records come from.
    public func root(of id: String) -> String {
        var current = id
        var seen: Set<String> = []
        while let input = stage(current)?.input, seen.insert(current).inserted { current = input }
        return current
    }
}

public struct Stage: Sendable {
    public enum Role: Sendable {
        case extract(connection: String, summary: String, extractor: any Extractor, batchSize: Int)
        case transform(steps: [ConfiguredStep], workers: Int)
        case load(format: String, load: any LoadFormat)
    }

    public var id: String
    public var location: SourceLocation
    public var input: String?
    /// Where `input` is written, for messages about it.
    public var inputLocation: SourceLocation?
    public var role: Role
    /// Batches buffered between this stage and each reader of its output.
    public var buffer: Int
    /// Extracts: the most pages (API responses or files) the stage may read; nil for no cap.
    public var maxPages: Int? = nil

    public var kind: String {
        switch role {
        case .extract: "extract"
        case .transform: "transform"
        case .load: "load"
        }
    }
}
