// An HTTP server written for tests that misbehaves on purpose: every request is answered by a
// closure, which can loop its paging, stall, send too much, echo secrets or nest without end.
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

final class HostileServer: Sendable {
    struct Request: Sendable {
        var method: String
        var path: String
        var query: [String: String]
        var headers: [String: String]
        var body: String
        /// 1 for the first request the server received.
        var number: Int
    }

    final class Counter: Sendable {
        let value = Mutex(0)
    }

    let port: Int
    private let counter: Counter
    private let task: Task<Void, any Error>

    var url: String { "http://127.0.0.1:\(port)" }
    var xmlURL: String { url + "/ajax/Ajax_API/processRequestXml" }
    var requests: Int { counter.value.withLock { $0 } }

    private init(port: Int, counter: Counter, task: Task<Void, any Error>) {
        self.port = port
        self.counter = counter
        self.task = task
    }

    static func start(_ respond: @escaping @Sendable (Request) async throws -> Response) async throws -> HostileServer {
        let count = Counter()
        let router = Router()
        let handler: @Sendable (Hummingbird.Request, BasicRequestContext) async throws -> Response = { request, _ in
            let body = String(decoding: try await request.body.collect(upTo: 1 << 20).readableBytesView, as: UTF8.self)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            var query: [String: String] = [:]
            for pair in (request.uri.query ?? "").split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                query[parts[0]] = parts.count > 1 ? (parts[1].removingPercentEncoding ?? parts[1]) : ""
            }
            let number = count.value.withLock { $0 += 1; return $0 }
            return try await respond(Request(method: request.method.rawValue, path: request.uri.path, query: query,
                                             headers: headers, body: body, number: number))
        }
        router.get("**", use: handler)
        router.post("**", use: handler)
        var logger = Logger(label: "hostile-server")
        logger.logLevel = .critical
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in
                                  continuation.yield(channel.localAddress?.port ?? 0)
                                  continuation.finish()
                              }, logger: logger)
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        var iterator = stream.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else { throw TestFailure("the hostile server did not start") }
        return HostileServer(port: port, counter: count, task: task)
    }

    func stop() async {
        task.cancel()
        _ = try? await task.value
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension Response {
    static func text(_ body: String, status: HTTPResponse.Status = .ok, contentType: String = "application/xml; charset=utf-8",
                     headers extra: [(HTTPField.Name, String)] = []) -> Response {
        var headers: HTTPFields = [.contentType: contentType]
        for (name, value) in extra { headers[name] = value }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static func json(_ body: String, status: HTTPResponse.Status = .ok, headers: [(HTTPField.Name, String)] = []) -> Response {
        text(body, status: status, contentType: "application/json", headers: headers)
    }

    static func bytes(_ body: [UInt8], contentType: String = "application/xml") -> Response {
        Response(status: .ok, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// Sends `body` one chunk at a time with `pause` between chunks.
    static func trickle(_ body: String, chunk: Int, pause: Duration) -> Response {
        let bytes = Array(body.utf8)
        return Response(status: .ok, headers: [.contentType: "application/xml"], body: ResponseBody { writer in
            var i = 0
            while i < bytes.count {
                try await writer.write(ByteBuffer(bytes: bytes[i..<min(bytes.count, i + chunk)]))
                i += chunk
                try await Task.sleep(for: pause)
            }
            try await writer.finish(nil)
        })
    }
}

/// Aurora XML API answers, built for the tests.
enum AuroraXML {
    static func order(_ id: Int, extra: String = "") -> String {
        "<Order><OrderID>\(id)</OrderID><ChargedCurrency>GBP</ChargedCurrency><OrderTotal>1.00</OrderTotal>\(extra)</Order>"
    }

    static func page(_ orders: [String], token: String? = "TOKEN") -> String {
        let paging = token.map { "<Paging><Token>\($0)</Token></Paging>" } ?? ""
        return "<?xml version=\"1.0\" encoding=\"utf-8\"?><AuroraResponseEnvelope><Responses><Response><Ack>OK</Ack>\(paging)<Data>\(orders.joined())</Data></Response></Responses></AuroraResponseEnvelope>"
    }
}
