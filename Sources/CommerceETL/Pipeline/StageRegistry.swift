/// Knows every connection type, transform step and load format by its pipeline-file name.
public struct StageRegistry: Sendable {
    public typealias ConnectionParser = @Sendable (ConfigMap) -> (any Connection)?
    public typealias StepParser = @Sendable (ConfigValue) -> (any TransformStep)?
    public typealias LoadParser = @Sendable (ConfigValue) -> (any LoadFormat)?

    public var connections: [(name: String, parse: ConnectionParser)] = []
    public var steps: [(name: String, parse: StepParser)] = []
    public var loads: [(name: String, parse: LoadParser)] = []

    public init() {}

    public static let standard: StageRegistry = {
        var r = StageRegistry()
        r.connections.append(("files", FilesConnection.parse))
        r.connections.append(("aurora-xml", AuroraXMLConnection.parse))
        r.connections.append(("aurora-rest", AuroraRESTConnection.parse))
        r.connections.append(("americommerce", AmeriCommerceConnection.parse))

        r.steps.append(("explode", ExplodeStep.parse))
        r.steps.append(("select", SelectStep.parse))
        r.steps.append(("rename", RenameStep.parse))
        r.steps.append(("drop", DropStep.parse))
        r.steps.append(("filter", FilterStep.parse))
        r.steps.append(("dedupe", DedupeStep.parse))
        r.steps.append(("convert_currency", ConvertCurrencyStep.parse))
        r.steps.append(("normalize_discounts", NormalizeDiscountsStep.parse))

        r.loads.append(("csv", CSVLoad.parse))
        r.loads.append(("ndjson_gz", NDJSONGzipLoad.parse))
        r.loads.append(("sqlite", SQLiteLoad.parse))
        return r
    }()
}
