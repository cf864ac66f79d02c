// The demo store's HTTP server (Hummingbird), bound to 127.0.0.1. It serves the Aurora XML API
// at `POST /ajax/Ajax_API/processRequestXml` (the path the documents' responses name in
// `RequestDetails/URL`), adding the configured latency and faults.
import CommerceETL
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

public final class DemoStoreServer: Sendable {
    public static let xmlPath = "/ajax/Ajax_API/processRequestXml"

    public let state: StoreState
    public let port: Int
    private let task: Task<Void, any Error>

    public var baseURL: String { "http://127.0.0.1:\(port)" }
    public var xmlURL: String { baseURL + Self.xmlPath }
    /// Aurora v2 REST: `POST {baseURL}/v2/access_token`, `GET {baseURL}/v2/orders`.
    public var auroraRESTURL: String { baseURL }
    /// AmeriCommerce REST: `GET {baseURL}/api/v1/products`.
    public var americommerceURL: String { baseURL }

    private init(state: StoreState, port: Int, task: Task<Void, any Error>) {
        self.state = state
        self.port = port
        self.task = task
    }

    /// Starts a store on `port` (0: any free port) and returns once it accepts connections.
    /// `requestLog` gets one line per request answered ("POST /v2/orders?page=2 -> 200, 48213 bytes, 3 ms").
    public static func start(_ config: DemoStoreConfig, port: Int = 0, logger: Logger? = nil,
                             requestLog: (@Sendable (String) -> Void)? = nil) async throws -> DemoStoreServer {
        let state = StoreState(config: config)
        let xml = XMLAPI(state: state)
        let rest = AuroraRESTAPI(state: state)
        let boundPort = Mutex(0)
        let ameri = AmeriCommerceAPI(state: state, baseURL: { "http://127.0.0.1:\(boundPort.withLock { $0 })" })
        let router = Router()
        router.post(RouterPath(xmlPath)) { request, _ -> Response in
            let body = Array(try await request.body.collect(upTo: 16 << 20).readableBytesView)
            return try await answer(body, what: "POST \(xmlPath)", state: state, log: requestLog) { DemoResponse(status: 200, headers: [("Content-Type", "application/xml; charset=utf-8")], body: xml.respond(to: body)) }
        }
        for path in ["/v2/**", "/api/v1/**"] {
            let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
                let body = Array(try await request.body.collect(upTo: 1 << 20).readableBytesView)
                var headers: [String: String] = [:]
                for field in request.headers { headers[field.name.canonicalName] = field.value }
                let demo = DemoRequest(method: request.method.rawValue, path: request.uri.path.split(separator: "/"),
                                       query: parseQuery(Substring(request.uri.query ?? "")), headers: headers, body: body)
                // The request's bytes, for fault draws: method, target and body.
                let key = Array("\(request.method.rawValue) \(request.uri.description)".utf8) + body
                return try await answer(key, what: "\(request.method.rawValue) \(request.uri.description)", state: state, log: requestLog) { path.hasPrefix("/v2") ? rest.respond(demo) : ameri.respond(demo) }
            }
            router.get(RouterPath(path), use: handler)
            router.post(RouterPath(path), use: handler)
        }
        var quiet = logger ?? Logger(label: "demo-store")
        // Cancelling the server to stop it makes Hummingbird log the cancellation as errors; they are not.
        if logger == nil { quiet.logLevel = .critical }
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        let app = Application(router: router,
                              configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "commerce-etl-demo-store"),
                              onServerRunning: { channel in
                                  continuation.yield(channel.localAddress?.port ?? 0)
                                  continuation.finish()
                              },
                              logger: quiet)
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        var iterator = stream.makeAsyncIterator()
        guard let bound = await iterator.next(), bound > 0 else {
            task.cancel()
            _ = try? await task.value
            throw DemoStoreError("the demo store could not listen on 127.0.0.1:\(port)")
        }
        boundPort.withLock { $0 = bound }
        return DemoStoreServer(state: state, port: bound, task: task)
    }

    /// Stops accepting requests and waits for the server to shut down.
    public func stop() async {
        task.cancel()
        _ = try? await task.value
    }

    /// Adds latency and faults around one API's answer, logging it in one line when asked.
    private static func answer(_ key: [UInt8], what: String, state: StoreState, log: (@Sendable (String) -> Void)?,
                               _ respond: () -> DemoResponse) async throws -> Response {
        let started = ContinuousClock.now
        let response = try await faultyAnswer(key, state: state, respond)
        if let log {
            let ms = Int(((ContinuousClock.now - started) / .milliseconds(1)).rounded())
            let size = response.body.contentLength.map { "\($0) bytes" } ?? "streamed"
            log("\(what) -> \(response.status.code), \(size), \(ms) ms")
        }
        return response
    }

    private static func faultyAnswer(_ key: [UInt8], state: StoreState, _ respond: () -> DemoResponse) async throws -> Response {
        let config = state.config
        state.begin()
        defer { state.end() }
        if config.latency > .zero { try await Task.sleep(for: config.latency) }
        let hash = fnv1a(key)
        let fault = config.faults.draw(seed: config.seed, requestHash: hash, attempt: state.attempt(hash))
        let plain: HTTPFields = [.contentType: "text/plain; charset=utf-8"]
        switch fault {
        case .status500?: return Response(status: .internalServerError, headers: plain, body: .init(byteBuffer: ByteBuffer(string: "internal error")))
        case .status503?: return Response(status: .serviceUnavailable, headers: plain, body: .init(byteBuffer: ByteBuffer(string: "try later")))
        case .status429?:
            var h = plain
            h[.retryAfter] = "1"
            return Response(status: .tooManyRequests, headers: h, body: .init(byteBuffer: ByteBuffer(string: "slow down")))
        case .slow?: try await Task.sleep(for: .seconds(1))
        default: break
        }
        let response = respond()
        var headers = HTTPFields()
        for (name, value) in response.headers { if let n = HTTPField.Name(name) { headers[n] = value } }
        let bytes = response.body
        let status = HTTPResponse.Status(code: response.status)
        switch fault {
        case .cut? where response.status == 200:
            // Cut inside the body, well before the end, and say the body is complete.
            let cut = max(1, Int(mix(config.seed, 5, hash) % UInt64(max(1, bytes.count - 40))))
            return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes[..<cut])))
        case .close? where response.status == 200:
            let half = bytes.count / 2
            return Response(status: status, headers: headers, body: ResponseBody(contentLength: bytes.count) { writer in
                try await writer.write(ByteBuffer(bytes: bytes[..<half]))
                throw DemoStoreError("connection closed mid-body (injected fault)")
            })
        default:
            return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }

    private static func fnv1a(_ bytes: [UInt8]) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes {
            h ^= UInt64(b)
            h &*= 0x100_0000_01B3
        }
        return h
    }
}

/// Starts embedded demo stores for pipelines whose connection URL is `demo` or
/// `demo:?orders=N&products=M&seed=S&latency=MS&faults=SPEC`.
public struct DemoStoreLauncher: EmbeddedStoreLauncher {
    public init() {}

    public func start(options: [String: String]) async throws -> EmbeddedStore {
        var config = DemoStoreConfig()
        for (key, value) in options {
            switch key {
            case "orders": config.orders = try Self.count(key, value, max: DemoStoreConfig.maxRecords)
            case "products": config.products = try Self.count(key, value, max: DemoStoreConfig.maxRecords)
            case "seed": config.seed = UInt64(try Self.count(key, value))
            case "latency": config.latency = .milliseconds(try Self.count(key, value, max: 3_600_000))
            case "faults": config.faults = try FaultPlan(parsing: value)
            case "token_lifetime": config.tokenLifetime = try Self.count(key, value, max: 31_536_000)
            case "rate_limit": config.requestsPerSecond = try Self.count(key, value, max: 1_000_000)
            default: throw DemoStoreError("unknown demo store option '\(key)'; options are orders, products, seed, latency (ms), faults, token_lifetime (s), rate_limit (requests/s)")
            }
        }
        let server = try await DemoStoreServer.start(config)
        return EmbeddedStore(auroraXMLURL: server.xmlURL, auroraRESTURL: server.baseURL, americommerceURL: server.baseURL,
                             stop: { await server.stop() })
    }

    private static func count(_ key: String, _ value: String, max: Int = .max) throws -> Int {
        guard let n = Int(value), n >= 0, n <= max else {
            throw DemoStoreError("demo store option \(key) must be a whole number\(max == .max ? "" : " from 0 to \(max)"), found '\(value)'")
        }
        return n
    }
}

/// The demo store's XML API without HTTP, for benchmarks that need answers already in memory.
public struct DemoStoreXMLAPI: Sendable {
    private let api: XMLAPI

    public init(_ config: DemoStoreConfig) { api = XMLAPI(state: StoreState(config: config)) }

    public func respond(to request: [UInt8]) -> [UInt8] { api.respond(to: request) }
}
