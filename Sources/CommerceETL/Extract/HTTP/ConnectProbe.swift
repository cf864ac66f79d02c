// Finds out quickly whether a server accepts connections at all. AsyncHTTPClient's connection
// pool keeps retrying a refused connection until the connect timeout runs out
// (swift-server/async-http-client#743), so a mistyped port would cost a whole timeout per
// attempt and be reported as a "connection reset". Before the first request to a server, and
// again after a request failed to get an answer, one plain TCP connect is tried: a refusal, an
// unknown host or an unreachable network fails that attempt at once, with the reason, and the
// retry goes by the normal backoff.
import Foundation
import NIOCore
import NIOPosix
import Synchronization

final class ConnectProbe: Sendable {
    private let connectTimeout: Duration
    /// Servers ("host:port") that accepted a connection since their last failure.
    private let reached = Mutex<Set<String>>([])

    init(connectTimeout: Duration) { self.connectTimeout = connectTimeout }

    /// Throws a transient `FetchError` naming the reason when `url`'s server cannot be connected to.
    func check(_ url: String) async throws {
        guard let (host, port) = Self.endpoint(url) else { return }
        let key = "\(host):\(port)"
        if reached.withLock({ $0.contains(key) }) { return }
        let milliseconds = Int64(connectTimeout.components.seconds) * 1000 + connectTimeout.components.attoseconds / 1_000_000_000_000_000
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connectTimeout(.milliseconds(milliseconds))
        do {
            let channel = try await bootstrap.connect(host: host, port: port).get()
            try? await channel.close().get()
        } catch {
            throw FetchError.transient("cannot connect to \(HTTPExchange.withoutQuery(url)): \(Self.reason(error, timeout: connectTimeout))")
        }
        reached.withLock { _ = $0.insert(key) }
    }

    /// A request to `url` got no answer: check the server again before the next one.
    func forget(_ url: String) {
        guard let (host, port) = Self.endpoint(url) else { return }
        reached.withLock { _ = $0.remove("\(host):\(port)") }
    }

    static func endpoint(_ url: String) -> (String, Int)? {
        // encodedHost: the name as DNS wants it (punycode stays punycode); `host` would decode it
        // through ICU's IDNA tables, megabytes of memory for a name the resolver needs encoded.
        guard let parts = URLComponents(string: url), let host = parts.encodedHost, !host.isEmpty else { return nil }
        let port = parts.port ?? (parts.scheme?.lowercased() == "https" ? 443 : 80)
        return (host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host, port)
    }

    /// The reason in words: "connection refused", "host not found", ...
    static func reason(_ error: any Error, timeout: Duration) -> String {
        if let failure = error as? NIOConnectionError {
            if let first = failure.connectionErrors.first { return reason(first.error, timeout: timeout) }
            return "host name \(failure.host) not found"
        }
        if let io = error as? IOError {
            switch io.errnoCode {
            case ECONNREFUSED: return "connection refused (nothing listens on that port)"
            case ENETUNREACH: return "network unreachable"
            case EHOSTUNREACH: return "host unreachable"
            case ETIMEDOUT: return "no connection within connect_timeout (\(timeout.components.seconds) s)"
            default: return String(cString: strerror(io.errnoCode))
            }
        }
        if case ChannelError.connectTimeout = error { return "no connection within connect_timeout (\(timeout.components.seconds) s)" }
        return String(describing: error).replacingOccurrences(of: "\n", with: " ")
    }
}
