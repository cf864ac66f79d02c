// Aurora order tracking: marking exported orders as sent once the run has committed.
import AsyncHTTPClient
import Foundation

/// Marks exported orders as sent with Order Update `tracking="sent"`, a batch of requests per
/// envelope. Run only after every output of the run is committed, so a failed run leaves the
/// orders unsent and the next run exports them again.
struct TrackingAcknowledger: Sendable {
    var endpoint: String
    var connection: AuroraXMLConnection
    static let batch = 100

    func acknowledge(_ orderIDs: [Int64]) async throws {
        guard !orderIDs.isEmpty else { return }
        try await HTTPConnectionSettings.withClient(connection.http) { client in
            try await send(orderIDs, client: client)
        }
    }

    private func send(_ orderIDs: [Int64], client: ConnectionClient) async throws {
        let exchange = HTTPExchange(client: client, settings: connection.http)
        let policy = RetryPolicy(connection.http)
        for start in stride(from: 0, to: orderIDs.count, by: Self.batch) {
            let ids = orderIDs[start..<min(orderIDs.count, start + Self.batch)]
            var body = "<?xml version=\"1.0\" encoding=\"utf-8\"?><AuroraRequestEnvelope><Header><AuthToken>\(AuroraXMLGetRequest.escape(connection.token))</AuthToken></Header><Requests>"
            for (n, id) in ids.enumerated() {
                body += "<Request><Order><Update tracking=\"sent\"><RequestID>\(n + 1)</RequestID><OrderID>\(id)</OrderID></Update></Order></Request>"
            }
            body += "</Requests></AuroraRequestEnvelope>"
            let bytes = Array(body.utf8)
            let what = "orders \(ids.first!)...\(ids.last!)"
            try await policy.run(what) {
                let answer = try await exchange.send(.POST, endpoint, headers: [("Content-Type", "application/xml; charset=utf-8")], body: bytes, limiter: nil)
                guard answer.status == 200 else { throw HTTPExchange.statusError(answer, "HTTP \(answer.status) from \(endpoint)") }
                try Self.check(answer.body, expected: ids.count)
            }
        }
    }

    /// Every Response must say OK; the first error's message otherwise.
    static func check(_ body: [UInt8], expected: Int) throws {
        var parser = XMLPullParser()
        parser.feed(body)
        parser.finish()
        var path: [String] = []
        var text = ""
        var oks = 0
        var message: String? = nil
        do {
            while let event = try parser.next() {
                switch event.kind {
                case .start(let name, _, _): path.append(name); text = ""
                case .text(let t, _): text += t
                case .end(let name):
                    let value = text.trimmingXMLSpace()
                    if name == "Ack", path.count >= 2, path[path.count - 2] == "Response" {
                        if value == "OK" { oks += 1 }
                    }
                    if name == "Message", message == nil, path.contains("Errors") { message = value }
                    path.removeLast()
                    text = ""
                }
            }
        } catch {
            throw FetchError.transient("malformed answer to Order Update: \(error)")
        }
        guard oks == expected else {
            throw FetchError.permanent("Order Update answered \(oks) of \(expected) OK\(message.map { ": \($0)" } ?? "")")
        }
    }
}

/// The OrderIDs a run exported, to acknowledge once it has committed.
final class ExportedOrders: @unchecked Sendable {
    // Only touched by the extract's own task.
    var ids: [Int64] = []
    func add(_ id: Int64) { ids.append(id) }
}
