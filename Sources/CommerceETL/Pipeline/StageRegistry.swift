// Every connection type, transform step and load format by its pipeline-file name, with the
// options it declares. A new kind is one type conforming to one of the `...Kind` protocols and
// one `register` line; parsing, `commerce-etl schema` and `commerce-etl docs` all come from here.

/// A connection type (`type: NAME` under `connections:`).
public protocol ConnectionKind: Connection {
    static var type: String { get }
    /// One line for the docs.
    static var summary: String { get }
    /// The connection's keys (besides `type`).
    static var options: [OptionSpec] { get }
    /// The keys an extract stage on this connection has (besides the ones every extract has).
    static var extractOptions: [OptionSpec] { get }
    static func parse(_ config: ConfigMap) -> (any Connection)?
}

/// A transform step (`- NAME: VALUE` under `steps:`).
public protocol StepKind: TransformStep {
    static var name: String { get }
    /// The step's value: its type (usually `.options`), documentation and an example.
    static var value: OptionSpec { get }
    static func parse(_ value: ConfigValue) -> (any TransformStep)?
}

/// A load format (`NAME: { ... }` in a load stage).
public protocol LoadKind: LoadFormat {
    static var name: String { get }
    /// The format's value: its type (usually `.options`), documentation and an example.
    static var value: OptionSpec { get }
    static func parse(_ value: ConfigValue) -> (any LoadFormat)?
}

public struct StageRegistry: Sendable {
    public struct ConnectionEntry: Sendable {
        public var name: String
        public var summary: String
        public var options: [OptionSpec]
        public var extractOptions: [OptionSpec]
        public var parse: @Sendable (ConfigMap) -> (any Connection)?

        public init(name: String, summary: String = "", options: [OptionSpec] = [], extractOptions: [OptionSpec] = [],
                    parse: @escaping @Sendable (ConfigMap) -> (any Connection)?) {
            self.name = name
            self.summary = summary
            self.options = options
            self.extractOptions = extractOptions
            self.parse = parse
        }
    }

    /// A step or a load format: a name whose value is described by `value`.
    public struct Entry<Made>: Sendable {
        public var name: String
        public var value: OptionSpec
        public var parse: @Sendable (ConfigValue) -> Made?

        public init(name: String, value: OptionSpec? = nil, parse: @escaping @Sendable (ConfigValue) -> Made?) {
            self.name = name
            self.value = value ?? OptionSpec(name, .any, doc: "")
            self.parse = parse
        }
    }

    public var connections: [ConnectionEntry] = []
    public var steps: [Entry<any TransformStep>] = []
    public var loads: [Entry<any LoadFormat>] = []

    public init() {}

    public mutating func register<C: ConnectionKind>(_ kind: C.Type) {
        connections.append(ConnectionEntry(name: C.type, summary: C.summary, options: C.options, extractOptions: C.extractOptions, parse: C.parse))
    }

    public mutating func register<S: StepKind>(_ kind: S.Type) {
        steps.append(Entry(name: S.name, value: S.value, parse: S.parse))
    }

    public mutating func register<L: LoadKind>(_ kind: L.Type) {
        loads.append(Entry(name: L.name, value: L.value, parse: L.parse))
    }

    public static let standard: StageRegistry = {
        var r = StageRegistry()
        r.register(FilesConnection.self)
        r.register(AuroraXMLConnection.self)
        r.register(AuroraRESTConnection.self)
        r.register(AmeriCommerceConnection.self)

        r.register(ExplodeStep.self)
        r.register(SelectStep.self)
        r.register(RenameStep.self)
        r.register(DropStep.self)
        r.register(FilterStep.self)
        r.register(DedupeStep.self)
        r.register(ConvertCurrencyStep.self)
        r.register(NormalizeDiscountsStep.self)

        r.register(CSVLoad.self)
        r.register(NDJSONGzipLoad.self)
        r.register(SQLiteLoad.self)
        r.register(PostgresLoad.self)
        return r
    }()
}
