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

    public func stage(_ id: String) -> Stage? { stages.first { $0.id == id } }

    /// The stages that read `id`'s output, in file order.
    public func consumers(of id: String) -> [Stage] { stages.filter { $0.input == id } }
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

    public var kind: String {
        switch role {
        case .extract: "extract"
        case .transform: "transform"
        case .load: "load"
        }
    }
}
