// An example of a transform step added from outside the library: one file and one `register`
// line (see ExtensionTests.swift). `uppercase: [sku, status]` upper-cases those top-level text
// fields; other values are left as they are.
import CommerceETL

struct UppercaseStep: StepKind {
    static let name = "uppercase"
    static let value = OptionSpec(name, .strings, doc: "upper-cases these top-level text fields", example: "[sku, status]")

    var fields: [String]

    static func parse(_ value: ConfigValue) -> (any TransformStep)? {
        value.strings().map { UppercaseStep(fields: $0) }
    }

    func apply(_ records: [Record]) throws -> [Record] {
        records.map { record in
            var out = record
            for field in fields {
                if case .string(let text)? = record[field] { out[field] = .string(text.uppercased()) }
            }
            return out
        }
    }
}
