// `schema` and `docs`: the pipeline format as JSON Schema and as Markdown, both generated from
// the keys each stage kind declares.
import ArgumentParser
import CommerceETL

struct SchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Print the JSON Schema (draft 2020-12) of pipeline files, for editors to complete and check them.",
        discussion: "The repository keeps a copy in \(PipelineSchema.repositoryPath); shipped pipelines point at it with a '# yaml-language-server: $schema=...' first line.")

    func run() throws {
        print(PipelineSchema.text(), terminator: "")
    }
}

struct DocsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "docs",
        abstract: "Print the reference of every pipeline key in Markdown (the README's option reference is this output).")

    func run() throws {
        print(OptionReference.markdown(), terminator: "")
    }
}
