// One request and its whole answer, with failures classified for RetryPolicy; URLs for messages.
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// One HTTP exchange for the JSON connectors, with failures classified for `RetryPolicy`.
struct HTTPExchange: Sendable {
    var client: ConnectionClient
    var settings: HTTPSettings

    struct Answer: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]

        var retryAfter: Duration? { RetryPolicy.retryAfter(headers.first(name: "Retry-After")) }
        /// The start of the body, for messages (secrets are taken out where messages are printed).
        var text: String { HTTPExchange.excerpt(body) }
    }

    /// Sends the request and reads the whole answer, up to `max_response_mb`. Connection errors
    /// and broken bodies are transient, an answer over the limit is not; the status is left to
    /// the caller.
    func send(_ method: HTTPMethod, _ url: String, headers: [(String, String)], body: [UInt8]? = nil,
              limiter: RateLimiter?) async throws -> Answer {
        try await limiter?.acquire()
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        do {
            let response = try await client.execute(request)
            let bytes = try await response.body.collect(upTo: settings.maxResponseBytes)
            return Answer(status: Int(response.status.code), headers: response.headers, body: Array(bytes.readableBytesView))
        } catch is CancellationError {
            throw CancellationError()
        } catch let failure as FetchError {
            throw failure
        } catch is NIOTooManyBytesError {
            throw FetchError.permanent("the answer from \(Self.withoutQuery(url)) is larger than \(settings.responseLimitText)")
        } catch {
            throw FetchError.transient("no complete answer from \(Self.withoutQuery(url)): \(String(describing: error).replacingOccurrences(of: "\n", with: " "))")
        }
    }

    /// At most 200 characters of a body, on one line, for messages.
    static func excerpt(_ body: some Collection<UInt8>) -> String {
        let text = String(decoding: body.prefix(600), as: UTF8.self)
            .split(whereSeparator: \.isNewline).joined(separator: " ").trimmingCharacters(in: .whitespaces)
        return text.count > 200 ? String(text.prefix(200)) + "..." : text
    }

    /// URLs are named in messages without their query, which may carry filters but never secrets.
    static func withoutQuery(_ url: String) -> String { url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url }

    /// 429 and 5xx are worth retrying; other failures are not.
    static func statusError(_ answer: Answer, _ message: String) -> FetchError {
        answer.status == 429 || answer.status >= 500 ? .transient(message, retryAfter: answer.retryAfter) : .permanent(message)
    }

    /// Parses a JSON body; a cut or malformed one is transient. Strings with invalid UTF-8 are
    /// counted in `invalid`.
    static func json(_ answer: Answer, _ url: String, invalid: InvalidText? = nil, page: String = "") throws -> Value {
        do {
            var count = 0
            let value = try JSONReader.parse(answer.body, invalidUTF8: &count)
            invalid?.add(count, at: page)
            return value
        } catch {
            throw FetchError.transient("malformed JSON from \(withoutQuery(url)): \(error)")
        }
    }
}

/// Builds `base/path?query` with the query's values percent-encoded.
func makeURL(_ base: String, _ path: String, _ query: [(String, String)]) -> String {
    var url = base.hasSuffix("/") ? String(base.dropLast()) : base
    url += path
    if !query.isEmpty {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        url += "?" + query.map { "\($0.0.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.1)" }.joined(separator: "&")
    }
    return url
}
