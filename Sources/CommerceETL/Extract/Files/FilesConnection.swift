// `type: files`: replays recorded API responses from local files, in the dialect of the API
// that produced them. Paths are glob patterns resolved against the working directory; files
// are read in sorted order, so runs are repeatable.
import Foundation

public struct FilesConnection: ConnectionKind {
    public enum Dialect: String, Sendable, CaseIterable {
        case auroraXML = "aurora-xml"
        case auroraREST = "aurora-rest"
        case americommerce
    }

    /// The API whose responses the files hold.
    public var dialect: Dialect
    /// Glob patterns (`*`, `?`, `[...]`) of the files to read, relative to the working directory.
    public var paths: [String]
    /// The most one file may hold, in bytes (`max_file_mb`, default 1024).
    public var maxFileBytes = 1024 << 20

    public var summary: String { "files (\(dialect.rawValue)): \(paths.joined(separator: ", "))" }

    public static let type = "files"
    public static let summary = "replays recorded API responses"
    enum Keys {
        static let dialect = Key.choice("dialect", Dialect.allCases.map(\.rawValue), required: true,
            doc: "the API that produced the files: `aurora-xml` (`AuroraResponseEnvelope`s), `aurora-rest` (v2 envelopes: records from `payload.items`), `americommerce` (list results: records from the list named by `resource`, or one single-resource object per file)")
        static let paths = Key.strings("paths", required: true, doc: "glob patterns (`*`, `?`, `[...]`), a string or a list; each pattern's matches are read in sorted order; a pattern that matches nothing fails the run. Only regular files are read: a FIFO, a device (a link to `/dev/zero`) or a directory fails the run at once",
                                       example: "[samples/aurora-xml/order-get-*.xml]")
        static let maxFileMB = Key.integer("max_file_mb", in: 1...65_536, doc: "the most one file may hold, in MiB").defaulting(1024)
        static let resource = Key.string("resource", required: true, doc: "aurora-xml: `orders` or `products`; JSON dialects: the collection name", example: "orders")
        static let language = Key.string("language", doc: "aurora-xml: preferred language for language-tagged text", example: "en-gb")
    }
    public static var options: [OptionSpec] { [Keys.dialect.spec, Keys.paths.spec, Keys.maxFileMB.spec] }
    public static var extractOptions: [OptionSpec] { [Keys.resource.spec, Keys.language.spec] }

    public static func parse(_ config: ConfigMap) -> (any Connection)? {
        let dialect = config.read(Keys.dialect).flatMap(Dialect.init)
        let paths = config.read(Keys.paths)
        if let paths, paths.isEmpty {
            config.context.diagnostics.error("'\(config.path).paths' lists no files", at: config.keyLocation(Keys.paths.spec.name))
            return nil
        }
        let maxFile = config.read(Keys.maxFileMB)
        guard let dialect, let paths else { return nil }
        return FilesConnection(dialect: dialect, paths: paths, maxFileBytes: maxFile << 20)
    }

    public func extractor(stage: String, config: ConfigMap) -> (any Extractor)? {
        switch dialect {
        case .auroraXML:
            let resource = config.value(Keys.resource.spec.name, required: true)?.choice(AuroraXMLRecordReader.Resource.allCases.map(\.rawValue))
                .flatMap(AuroraXMLRecordReader.Resource.init)
            let language = config.read(Keys.language)
            guard let resource else { return nil }
            return AuroraXMLFileExtractor(paths: paths, resource: resource, language: language, maxFileBytes: maxFileBytes)
        case .auroraREST, .americommerce:
            guard let resource = config.read(Keys.resource) else { return nil }
            return JSONFileExtractor(paths: paths, dialect: dialect, resource: resource, maxFileBytes: maxFileBytes)
        }
    }

    /// The files matching `patterns`, each pattern's matches sorted; a pattern matching nothing is an error.
    static func expand(_ patterns: [String], in workingDirectory: String) throws -> [String] {
        var files: [String] = []
        for pattern in patterns {
            let absolute = AtomicFile.resolve(pattern, in: workingDirectory)
            var result = glob_t()
            defer { globfree(&result) }
            let rc = glob(absolute, 0, nil, &result)
            guard rc == 0 else { throw ETLError("no file matches '\(pattern)' (relative paths are read from \(workingDirectory))") }
            var matches: [String] = []
            for i in 0..<Int(result.gl_pathc) {
                if let p = result.gl_pathv[i] { matches.append(String(cString: p)) }
            }
            let prefix = workingDirectory.hasSuffix("/") ? workingDirectory : workingDirectory + "/"
            files += matches.sorted().map { $0.hasPrefix(prefix) && !pattern.hasPrefix("/") ? String($0.dropFirst(prefix.count)) : $0 }
        }
        return files
    }
}
