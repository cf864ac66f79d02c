import Foundation

/// Reads recorded JSON pages: Aurora v2 envelopes (`payload.items`, or `payload.<resource>` for a
/// single item) or AmeriCommerce list results (`<resource>: [...]`, or a single object).
struct JSONFileExtractor: Extractor {
    var paths: [String]
    var dialect: FilesConnection.Dialect
    var resource: String
    var maxFileBytes: Int
    var recordKind: RecordKind? { RecordKind(resource: resource, fieldNames: dialect.rawValue) }

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
        switch dialect {
        case .auroraREST:
            switch AuroraRESTPage.decode(value, single: true) {
            case .success(let decoded): return decoded.page.records
            case .failure(.noPayload):
                if case .object = value { throw ETLError("\(file): not an Aurora v2 response (no payload)") }
                throw ETLError("\(file): expected a JSON object at the top")
            case .failure(.noItems): throw ETLError("\(file): the payload holds no items")
            }
        case .americommerce:
            switch AmeriCommercePage.decode(value, resource: resource, single: true) {
            case .success(let page): return page.records
            case .failure(.notAnObject): throw ETLError("\(file): expected a JSON object at the top")
            case .failure(.noList): throw ETLError("\(file): the list result has no '\(resource)' list")
            }
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
