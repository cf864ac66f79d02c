// `type: files`: replays recorded API responses from local files, in the dialect of the API
// that produced them. Paths are glob patterns resolved against the working directory; files
// are read in sorted order, so runs are repeatable.
import Foundation

public struct FilesConnection: Connection {
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

    static func parse(_ config: ConfigMap) -> (any Connection)? {
        let dialect = config.choice("dialect", Dialect.allCases.map(\.rawValue), required: true).flatMap(Dialect.init)
        let paths = config.strings("paths", required: true)
        if let paths, paths.isEmpty {
            config.context.diagnostics.error("'\(config.path).paths' lists no files", at: config.keyLocation("paths"))
            return nil
        }
        let maxFile = config.integer("max_file_mb", in: 1...65_536) ?? 1024
        guard let dialect, let paths else { return nil }
        return FilesConnection(dialect: dialect, paths: paths, maxFileBytes: maxFile << 20)
    }

    public func extractor(stage: String, config: ConfigMap) -> (any Extractor)? {
        switch dialect {
        case .auroraXML:
            let resource = config.choice("resource", AuroraXMLRecordReader.Resource.allCases.map(\.rawValue), required: true)
                .flatMap(AuroraXMLRecordReader.Resource.init)
            let language = config.string("language")
            guard let resource else { return nil }
            return AuroraXMLFileExtractor(paths: paths, resource: resource, language: language, maxFileBytes: maxFileBytes)
        case .auroraREST, .americommerce:
            guard let resource = config.string("resource", required: true) else { return nil }
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

/// Reads recorded Aurora XML API responses, streaming each file.
struct AuroraXMLFileExtractor: Extractor {
    var paths: [String]
    var resource: AuroraXMLRecordReader.Resource
    var language: String?
    var maxFileBytes: Int

    func run(_ output: RecordEmitter, context: RunContext) async throws {
        let cwd = context.workingDirectory
        let invalid = InvalidText()
        defer { invalid.report(to: context.logger, origin: "in the replayed files") }
        for file in try FilesConnection.expand(paths, in: cwd) {
            let reader: FileReader
            do {
                reader = try FileReader(path: AtomicFile.resolve(file, in: cwd), limit: maxFileBytes)
            } catch {
                throw ETLError("\(file): cannot open: \(error)")
            }
            var parser = XMLPullParser()
            var records = AuroraXMLRecordReader(resource: resource, language: language)
            func located(_ line: Int, _ column: Int, _ message: String) -> ETLError {
                ETLError("\(file):\(line):\(column): \(message)")
            }
            func drain() async throws {
                do {
                    while let event = try parser.next() {
                        if let record = try records.consume(event) { try await output.emit(record) }
                    }
                } catch let e as XMLSyntaxError {
                    throw located(e.line, e.column, e.message)
                } catch let e as AuroraXMLRecordReader.Failure {
                    throw located(e.line, e.column, e.message)
                }
            }
            func nextChunk() throws -> [UInt8]? {
                do { return try reader.read(1 << 16) } catch { throw ETLError("\(file): cannot read: \(error)") }
            }
            while let chunk = try nextChunk() {
                try Task.checkCancellation()
                parser.feed(chunk)
                try await drain()
            }
            try Task.checkCancellation()
            parser.finish()
            try await drain()
            do {
                try records.finish(line: parser.currentLine, column: parser.currentColumn)
            } catch {
                throw located(error.line, error.column, error.message)
            }
            if let first = parser.firstInvalidUTF8 { invalid.add(parser.invalidUTF8, at: "\(file):\(first.line):\(first.column)") }
            try output.countPage()
        }
    }
}

/// Reads recorded JSON pages: Aurora v2 envelopes (`payload.items`, or `payload.<resource>` for a
/// single item) or AmeriCommerce list results (`<resource>: [...]`, or a single object).
struct JSONFileExtractor: Extractor {
    var paths: [String]
    var dialect: FilesConnection.Dialect
    var resource: String
    var maxFileBytes: Int

    func run(_ output: RecordEmitter, context: RunContext) async throws {
        let cwd = context.workingDirectory
        let invalid = InvalidText()
        defer { invalid.report(to: context.logger, origin: "in the replayed files") }
        for file in try FilesConnection.expand(paths, in: cwd) {
            try Task.checkCancellation()
            var bytes: [UInt8] = []
            do {
                let reader = try FileReader(path: AtomicFile.resolve(file, in: cwd), limit: maxFileBytes)
                while let chunk = try reader.read(1 << 20) { bytes += chunk }
            } catch {
                throw ETLError("\(file): cannot read: \(error)")
            }
            let value: Value
            do {
                var count = 0
                value = try JSONReader.parse(bytes, invalidUTF8: &count)
                invalid.add(count, at: file)
            } catch {
                let (line, column) = Self.position(of: error.offset, in: bytes)
                throw ETLError("\(file):\(line):\(column): \(error.message)")
            }
            for record in try records(in: value, file: file) { try await output.emit(record) }
            try output.countPage()
        }
    }

    private func records(in value: Value, file: String) throws -> [Record] {
        func objects(_ items: [Value]) -> [Record] {
            items.map { if case .object(let r) = $0 { r } else { ["value": $0] } }
        }
        guard case .object(let top) = value else { throw ETLError("\(file): expected a JSON object at the top") }
        switch dialect {
        case .auroraREST:
            guard case .object(let payload)? = top["payload"] else { throw ETLError("\(file): not an Aurora v2 response (no payload)") }
            if case .array(let items)? = payload["items"] { return objects(items) }
            // A single item: payload.order holds it (the document shows it as a one-element array).
            for (_, v) in payload.fields {
                if case .array(let items) = v { return objects(items) }
                if case .object(let r) = v { return [r] }
            }
            throw ETLError("\(file): the payload holds no items")
        case .americommerce:
            if case .array(let items)? = top[resource] { return objects(items) }
            if top["total_count"] != nil { throw ETLError("\(file): the list result has no '\(resource)' list") }
            return [top]
        case .auroraXML:
            return []
        }
    }

    static func position(of offset: Int, in bytes: [UInt8]) -> (Int, Int) {
        var line = 1, column = 1
        for b in bytes.prefix(offset) {
            if b == 10 { line += 1; column = 1 } else if b & 0xC0 != 0x80 { column += 1 }
        }
        return (line, column)
    }
}
