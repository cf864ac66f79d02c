// `commerce-etl docs`: the option reference in Markdown, generated from the keys the registry's
// kinds declare. The README's option reference is this output (a test fails when they differ).

public enum OptionReference {
    public static func markdown(_ registry: StageRegistry = .standard) -> String {
        var out: [String] = []
        func section(_ title: String, _ summary: String?, _ options: [OptionSpec]) {
            out.append("#### \(title)")
            out.append("")
            if let summary, !summary.isEmpty {
                out.append(sentence(summary))
                out.append("")
            }
            if !options.isEmpty {
                out.append(table(options))
                out.append("")
            }
            // Keys of nested mappings, each in a table of its own.
            for option in options {
                guard let inner = nested(option.type), !inner.isEmpty else { continue }
                out.append("`\(option.name)`:")
                out.append("")
                out.append(table(inner))
                out.append("")
            }
        }
        section("Top level", nil, PipelineKeys.top)
        section("Every extract stage", "Besides the keys of its connection's type, below.", PipelineKeys.extractOptions)
        section("Every transform stage", nil, PipelineKeys.transformOptions)
        section("Every load stage", "`input` and exactly one format key, below.", PipelineKeys.loadOptions)
        section("Every step", "Besides its name, a step may have `on_error`.", [PipelineKeys.onError])
        for c in registry.connections {
            section("Connection `type: \(c.name)`", c.summary, c.options)
            section("Extract stages on `\(c.name)`", nil, c.extractOptions)
        }
        for step in registry.steps { value("Step `\(step.name)`", step.value) }
        for load in registry.loads { value("Load `\(load.name)`", load.value) }
        func value(_ title: String, _ spec: OptionSpec) {
            var summary = spec.doc
            if let example = spec.example { summary = sentence(summary) + " Example: `\(spec.name): \(example)`." }
            switch spec.type {
            case .options(let options):
                section(title, summary, options)
            default:
                section(title, sentence(summary) + " Its value: \(typeText(spec.type)).", [])
            }
        }
        while out.last == "" { out.removeLast() }
        return out.joined(separator: "\n") + "\n"
    }

    private static func sentence(_ text: String) -> String {
        guard let first = text.first else { return text }
        let capitalized = first.uppercased() + text.dropFirst()
        return capitalized.hasSuffix(".") || capitalized.hasSuffix(")`") || capitalized.hasSuffix("`") ? capitalized : capitalized + "."
    }

    private static func table(_ options: [OptionSpec]) -> String {
        var rows = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
        for o in options {
            let fallback = o.required ? "required" : (o.defaultText ?? "")
            var meaning = o.doc
            if let example = o.example { meaning += "; e.g. `\(example)`" }
            rows.append("| `\(o.name)` | \(typeText(o.type)) | \(fallback) | \(escape(meaning)) |")
        }
        return rows.joined(separator: "\n")
    }

    /// The keys of a mapping option (or of its mapping form).
    private static func nested(_ type: OptionSpec.ValueType) -> [OptionSpec]? {
        switch type {
        case .options(let inner): inner
        case .either(let a, let b): nested(a) ?? nested(b)
        default: nil
        }
    }

    private static func escape(_ text: String) -> String { text.replacingOccurrences(of: "|", with: "\\|") }

    static func typeText(_ type: OptionSpec.ValueType) -> String {
        switch type {
        case .string: "string"
        case .integer(let r) where r.lowerBound == Int.min && r.upperBound == Int.max: "integer"
        case .integer(let r) where r.upperBound == Int.max: "integer ≥ \(r.lowerBound)"
        case .integer(let r) where r.lowerBound == r.upperBound: "\(r.lowerBound)"
        case .integer(let r): "integer \(r.lowerBound)-\(r.upperBound)"
        case .number(let low, let high): "number \(low)-\(high)"
        case .boolean: "true/false"
        case .choice(let choices): choices.map { "`\($0)`" }.joined(separator: ", ")
        case .strings: "string or list"
        case .stringMap: "map of strings"
        case .options: "map"
        case .list(.any): "list"
        case .list(.strings): "list of lists"
        case .list(let item): "list of \(typeText(item))s"
        case .either(let a, let b): "\(typeText(a)) or \(typeText(b))"
        case .mapOf: "map"
        case .any: "any"
        }
    }
}
