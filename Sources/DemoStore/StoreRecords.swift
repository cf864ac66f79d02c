// The store's data as records, for the JSON APIs. Orders and products are generated once, as
// the XML API renders them, and read back through the project's own Aurora XML mapping, so all
// three APIs serve exactly the same data.
import CommerceETL

extension StoreState {
    func orderRecord(_ index: Int, versions: [Int: Change]? = nil) -> Record {
        var x = XMLBuilder(capacity: 8192)
        OrderGenerator.renderFull(orderHeader(index, versions: versions), config: config, into: &x)
        return Self.record(x.bytes, .orders)
    }

    func productRecord(_ index: Int, versions: [Int: Change]? = nil) -> Record {
        var x = XMLBuilder(capacity: 8192)
        ProductGenerator.renderFull(productHeader(index, versions: versions), config: config, into: &x)
        return Self.record(x.bytes, .products)
    }

    private static func record(_ element: [UInt8], _ resource: AuroraXMLRecordReader.Resource) -> Record {
        var parser = XMLPullParser()
        var reader = AuroraXMLRecordReader(resource: resource)
        let open = "<AuroraResponseEnvelope><Responses><Response><Data>"
        parser.feed(Array(open.utf8) + element + Array("</Data></Response></Responses></AuroraResponseEnvelope>".utf8))
        parser.finish()
        do {
            if let record = try reader.read(from: &parser) { return record }
        } catch {
            preconditionFailure("the demo store generated XML its own reader rejects: \(error)")
        }
        preconditionFailure("the demo store generated no record")
    }
}

extension Record {
    /// A field as it came, or null.
    func get(_ path: String) -> Value { value(at: FieldPath(path)!) ?? .null }

    func array(_ path: String) -> [Value] {
        if case .array(let items) = get(path) { return items }
        return []
    }
}

extension Value {
    var record: Record? { if case .object(let r) = self { r } else { nil } }
}

/// A request to the demo store's JSON APIs, independent of the HTTP server.
struct DemoRequest {
    var method: String
    var path: [Substring]
    var query: [(String, String)]
    var headers: [String: String]
    var body: [UInt8]

    func query(_ name: String) -> String? { query.last { $0.0 == name }?.1 }
}

struct DemoResponse {
    var status: Int
    var headers: [(String, String)] = [("Content-Type", "application/json")]
    var body: [UInt8]

    static func json(_ status: Int, _ value: Value) -> DemoResponse {
        var out: [UInt8] = []
        JSONWriter.write(value, into: &out)
        out.append(10)
        return DemoResponse(status: status, body: out)
    }
}

/// `a=1&b=x%20y` into pairs.
func parseQuery(_ query: Substring) -> [(String, String)] {
    query.split(separator: "&").map { pair in
        let kv = pair.split(separator: "=", maxSplits: 1)
        let decode = { (s: Substring) in s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(s) }
        return (decode(kv[0]), kv.count > 1 ? decode(kv[1]) : "")
    }
}

import Foundation
