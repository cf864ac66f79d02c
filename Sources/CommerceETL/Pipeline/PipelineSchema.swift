// `commerce-etl schema`: a JSON Schema (draft 2020-12) of the pipeline format, generated from
// the keys the registry's kinds declare, so editors complete and check pipeline files. The tool's
// own validation stays the authority (it also checks what a schema cannot: that `input` names a
// stage, that a stage's keys suit its connection's type); the schema accepts every file the tool
// accepts and refuses most that it refuses.

public enum PipelineSchema {
    /// Where the repository keeps a copy; shipped pipelines point their editors at it.
    public static let repositoryPath = "schema/pipeline.schema.json"

    public static func make(_ registry: StageRegistry = .standard) -> Value {
        var defs = Record()
        defs["variable"] = .object(["description": .string("a value taken from the environment: ${VAR} or ${VAR:-default}"),
                                    "type": .string("string"), "pattern": .string("\\$\\{")])
        defs["scalar"] = .object(["type": .array([.string("string"), .string("number"), .string("boolean")])])

        var connections: [Value] = []
        var extracts: [Value] = []
        for c in registry.connections {
            var connection = object([OptionSpec(PipelineKeys.type.name, .choice([c.name]), required: true, doc: PipelineKeys.type.doc)] + c.options)
            connection["description"] = .string(c.summary)
            defs["connection-\(c.name)"] = .object(connection)
            connections.append(ref("connection-\(c.name)"))
            var extract = object(PipelineKeys.extractOptions + c.extractOptions)
            extract["description"] = .string("an extract stage on a `\(c.name)` connection")
            defs["extract-\(c.name)"] = .object(extract)
            extracts.append(ref("extract-\(c.name)"))
        }
        defs["connection"] = .object(["oneOf": .array(connections)])
        defs["extract"] = .object(["anyOf": .array(extracts)])

        defs["on_error"] = schema(PipelineKeys.onError)
        var steps: [Value] = []
        for step in registry.steps {
            var properties = Record()
            properties[step.name] = schema(step.value)
            properties[PipelineKeys.onError.name] = ref("on_error")
            steps.append(.object(["type": .string("object"), "description": .string(step.value.doc), "properties": .object(properties),
                                  "required": .array([.string(step.name)]), "additionalProperties": .bool(false)]))
        }
        defs["step"] = .object(["oneOf": .array(steps)])
        var transform = object(PipelineKeys.transformOptions)
        if case .object(var properties)? = transform["properties"] {
            properties[PipelineKeys.steps.name] = .object(["description": .string(PipelineKeys.steps.doc), "type": .string("array"), "items": ref("step")])
            transform["properties"] = .object(properties)
        }
        defs["transform"] = .object(transform)

        var loads: [Value] = []
        for load in registry.loads {
            var properties = Record()
            for option in PipelineKeys.loadOptions { properties[option.name] = schema(option) }
            properties[load.name] = schema(load.value)
            loads.append(.object(["type": .string("object"), "description": .string(load.value.doc), "properties": .object(properties),
                                  "required": .array((PipelineKeys.loadOptions.filter(\.required).map(\.name) + [load.name]).map(Value.string)),
                                  "additionalProperties": .bool(false)]))
        }
        defs["load"] = .object(["oneOf": .array(loads)])

        var top = object(PipelineKeys.top)
        if case .object(var properties)? = top["properties"] {
            for (section, def) in [(PipelineKeys.connections, "connection"), (PipelineKeys.extract, "extract"),
                                   (PipelineKeys.transform, "transform"), (PipelineKeys.load, "load")] {
                properties[section.name] = .object(["description": .string(section.doc), "type": .string("object"),
                                                    "additionalProperties": ref(def)])
            }
            top["properties"] = .object(properties)
        }
        var root: Record = ["$schema": .string("https://json-schema.org/draft/2020-12/schema"),
                            "title": .string("commerce-etl pipeline file (format version 1)")]
        for (key, value) in top.fields { root[key] = value }
        root["$defs"] = .object(defs)
        return .object(root)
    }

    /// The schema as the repository keeps it.
    public static func text(_ registry: StageRegistry = .standard) -> String { JSONWriter.pretty(make(registry)) }

    private static func ref(_ name: String) -> Value { .object(["$ref": .string("#/$defs/\(name)")]) }

    /// An object with exactly these keys.
    private static func object(_ options: [OptionSpec]) -> Record {
        var properties = Record()
        for option in options { properties[option.name] = schema(option) }
        var r: Record = ["type": .string("object"), "properties": .object(properties)]
        let required = options.filter(\.required).map(\.name)
        if !required.isEmpty { r["required"] = .array(required.map(Value.string)) }
        r["additionalProperties"] = .bool(false)
        return r
    }

    static func schema(_ option: OptionSpec) -> Value {
        var r = Record()
        if !option.doc.isEmpty { r["description"] = .string(option.doc) }
        if let d = option.defaultValue { r["default"] = d }
        if case .object(let type) = schema(option.type) { for (k, v) in type.fields { r[k] = v } }
        return .object(r)
    }

    private static func orVariable(_ schema: Value) -> Value {
        .object(["anyOf": .array([schema, ref("variable")])])
    }

    static func schema(_ type: OptionSpec.ValueType) -> Value {
        switch type {
        case .string:
            return ref("scalar")
        case .integer(let range):
            return orVariable(.object(["type": .string("integer"), "minimum": .integer(Int64(range.lowerBound)), "maximum": .integer(Int64(range.upperBound))]))
        case .number(let minimum, let maximum):
            var bounds: Record = ["type": .string("number")]
            if let low = ExactDecimal(parsing: minimum) { bounds["minimum"] = .decimal(low) }
            if let high = ExactDecimal(parsing: maximum) { bounds["maximum"] = .decimal(high) }
            return orVariable(.object(bounds))
        case .boolean:
            // The tool also reads yes/no and on/off, in any case.
            return .object(["anyOf": .array([.object(["type": .string("boolean")]),
                                            .object(["type": .string("string"), "pattern": .string("^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|[Yy][Ee][Ss]|[Nn][Oo]|[Oo][Nn]|[Oo][Ff][Ff])$")]),
                                            ref("variable")])])
        case .choice(let choices):
            return orVariable(.object(["enum": .array(choices.map(Value.string))]))
        case .strings:
            return .object(["anyOf": .array([ref("scalar"), .object(["type": .string("array"), "items": ref("scalar")])])])
        case .stringMap:
            return .object(["type": .string("object"), "additionalProperties": ref("scalar")])
        case .options(let options):
            return .object(object(options))
        case .list(let item):
            return .object(["type": .string("array"), "items": schema(item)])
        case .either(let a, let b):
            return .object(["anyOf": .array([schema(a), schema(b)])])
        case .mapOf(let item):
            return .object(["type": .string("object"), "additionalProperties": schema(item)])
        case .any:
            return .object([:])
        }
    }
}
