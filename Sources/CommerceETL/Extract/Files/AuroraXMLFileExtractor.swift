import Foundation

/// Reads recorded Aurora XML API responses, streaming each file.
struct AuroraXMLFileExtractor: Extractor {
    var paths: [String]
    var resource: AuroraXMLRecordReader.Resource
    var language: String?
    var maxFileBytes: Int
    var recordKind: RecordKind? { RecordKind(resource: resource.rawValue, fieldNames: "aurora-xml") }

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
                    while let record = try records.read(from: &parser) { try await output.emit(record) }
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
