// Sources that misbehave on purpose: paging that never ends, waits without end, answers too
// large or too deep, servers that echo secrets. Each run must end by itself with one located
// error line (stage, page, URL, never a secret), exit 1, and leave nothing behind.
import Foundation
import HTTPTypes
import Hummingbird
import Testing
@testable import CommerceETL

@Suite(.timeLimit(.minutes(2)))
struct HostileSourceTests {
    static let token = "hunter2-SECRET-token-7731"

    /// Runs a one-extract pipeline against `url` in a fresh workspace; returns the CLI's result
    /// and the files left in the workspace.
    func run(connection: String, extract: String, environment: [String: String] = [:]) async throws -> (CLIResult, [String]) {
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        try """
            version: 1
            name: hostile
            connections:
              store: { \(connection) }
            extract:
              orders: { connection: store, \(extract) }
            load:
              orders_csv: { input: orders, csv: { path: out/orders.csv } }
            """.write(to: dir.appendingPathComponent("p.yml"), atomically: true, encoding: .utf8)
        var env = ["AURORA_TOKEN": Self.token]
        env.merge(environment) { _, new in new }
        let result = try await runCLIAsync(["run", "p.yml"], in: dir, environment: env)
        return (result, Fixtures.files(in: dir))
    }

    /// The run failed with exactly one error line holding every piece of `expected`, said
    /// nothing secret, and left nothing behind but the pipeline file and the failed run's
    /// manifest (which says what happened).
    func expectFailure(_ result: (CLIResult, [String]), _ expected: [String], sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        let (cli, files) = result
        #expect(cli.status == 1, "exit \(cli.status): \(cli.stderr)", sourceLocation: sourceLocation)
        let errors = cli.stderr.split(separator: "\n").filter { $0.hasPrefix("error: ") }
        #expect(errors.count == 1, "\(cli.stderr)", sourceLocation: sourceLocation)
        for piece in expected {
            #expect(errors.first?.contains(piece) == true, "'\(piece)' not in: \(cli.stderr)", sourceLocation: sourceLocation)
        }
        #expect(!(cli.stderr + cli.stdout).contains(Self.token), sourceLocation: sourceLocation)
        #expect(files == ["out", "out/hostile.manifest.json", "p.yml"], sourceLocation: sourceLocation)
    }

    func xml(_ server: HostileServer, _ extra: String = "") -> String {
        "type: aurora-xml, url: \"\(server.xmlURL)\", token: \"${AURORA_TOKEN}\"\(extra.contains("retries") ? "" : ", retries: 1")\(extra)"
    }

    // MARK: paging that never ends

    @Test func anXMLAPIThatRepeatsItsPageForeverIsStopped() async throws {
        let server = try await HostileServer.start { _ in .text(AuroraXML.page([AuroraXML.order(1), AuroraXML.order(2)], token: "SAME")) }
        defer { Task { await server.stop() } }
        let result = try await run(connection: xml(server, ", concurrency: 1"), extract: "resource: orders")
        expectFailure(result, ["stage 'orders': page 2 from \(server.xmlURL) holds the same records as page 1", "stopping"])
        #expect(server.requests <= 3)
    }

    @Test func aNextLinkBackToAPageAlreadyReadIsStopped() async throws {
        let server = try await HostileServer.start { request in
            if request.path == "/v2/access_token" { return .json(#"{"access_token": "at-0123456789", "expires_in": 3600}"#) }
            let page = request.query["page"] ?? "1"
            return .json(#"{"requestId": "r", "payload": {"items": [{"id": \#(page)}], "paging": {"next": "/v2/orders?page=2"}}}"#)
        }
        defer { Task { await server.stop() } }
        let result = try await run(connection: "type: aurora-rest, url: \"\(server.url)\", client_id: c, client_secret: \"${AURORA_TOKEN}\", retries: 1",
                                   extract: "resource: orders")
        expectFailure(result, ["stage 'orders': page 3 from \(server.url)/v2/orders: the API's next link /v2/orders points at a page already read"])
        #expect(server.requests <= 4)
    }

    @Test func aTotalFarLargerThanThePagesIsStoppedAtTheFirstEmptyPage() async throws {
        let server = try await HostileServer.start { request in
            let page = Int(request.query["page"] ?? "1") ?? 1
            let items = page == 1 ? #"[{"id": 1}, {"id": 2}]"# : "[]"
            return .json(#"{"orders": \#(items), "total_count": 1000000000, "page": \#(page)}"#)
        }
        defer { Task { await server.stop() } }
        let result = try await run(connection: "type: americommerce, url: \"\(server.url)\", token: \"${AURORA_TOKEN}\", concurrency: 2, retries: 1",
                                   extract: "resource: orders, count: 2")
        expectFailure(result, ["stage 'orders': page 2 from \(server.url)/api/v1/orders is empty", "promised 500000000 pages"])
        #expect(server.requests < 10)
    }

    @Test func maxPagesCapsAnExtract() async throws {
        let server = try await HostileServer.start { request in
            // Every page new, the token the same: only a cap ends this.
            let page = request.body.range(of: "<Page>").map { request.body[$0.upperBound...].prefix { $0.isNumber } } ?? "1"
            let id = Int(page)! * 10
            return .text(AuroraXML.page([AuroraXML.order(id), AuroraXML.order(id + 1)]))
        }
        defer { Task { await server.stop() } }
        let result = try await run(connection: xml(server, ", concurrency: 1"), extract: "resource: orders, max_pages: 5")
        expectFailure(result, ["stage 'orders': page 6 from \(server.xmlURL)", "max_pages (5)"])
    }

    @Test func aTotalSmallerThanTheDataIsAWarning() async throws {
        let server = try await HostileServer.start { request in
            let page = Int(request.query["page"] ?? "1") ?? 1
            let items = page <= 3 ? #"[{"id": \#(page * 2)}, {"id": \#(page * 2 + 1)}]"# : "[]"
            return .json(#"{"orders": \#(items), "total_count": 4}"#)
        }
        defer { Task { await server.stop() } }
        let (cli, _) = try await run(connection: "type: americommerce, url: \"\(server.url)\", token: \"${AURORA_TOKEN}\"",
                                     extract: "resource: orders, count: 2")
        #expect(cli.status == 0, "\(cli.stderr)")
        #expect(cli.stderr.contains("page 3 from \(server.url)/api/v1/orders, past the 2 page(s) the API's total promised, still holds 2 record(s)"))
    }

    // MARK: waits without end

    @Test(arguments: ["100000", "9223372036854775807", "99999999999999999999999"])
    func aRetryAfterBeyondMaxRetryWaitFailsAtOnce(retryAfter: String) async throws {
        let server = try await HostileServer.start { _ in
            .text("slow down", status: .tooManyRequests, contentType: "text/plain", headers: [(.retryAfter, retryAfter)])
        }
        defer { Task { await server.stop() } }
        let result = try await run(connection: xml(server, ", retries: 3"), extract: "resource: orders")
        expectFailure(result, ["stage 'orders': page 1: HTTP 429 from \(server.xmlURL)", "longer than max_retry_wait (300 s)"])
        #expect(server.requests == 1)
    }

    @Test func anAnswerThatTricklesInMeetsItsDeadline() async throws {
        let body = AuroraXML.page([AuroraXML.order(1)], token: nil)
        let server = try await HostileServer.start { _ in .trickle(body, chunk: 1, pause: .milliseconds(200)) }
        defer { Task { await server.stop() } }
        // Each byte comes well within `timeout`, but the whole answer would take a minute.
        let result = try await run(connection: xml(server, ", retries: 5, timeout: 5, deadline: 2"), extract: "resource: orders")
        expectFailure(result, ["stage 'orders': page 1: no complete answer within the deadline (2 s", "raise 'deadline'"])
        #expect(server.requests == 1)
    }

    // MARK: too much

    @Test func anAnswerOverMaxResponseSizeFailsNamingTheLimit() async throws {
        let big = AuroraXML.page((1...12_000).map { AuroraXML.order($0, extra: "<Notes>\(String(repeating: "x", count: 80))</Notes>") })
        let server = try await HostileServer.start { _ in .text(big) }
        defer { Task { await server.stop() } }
        let result = try await run(connection: xml(server, ", max_response_mb: 1"), extract: "resource: orders")
        expectFailure(result, ["stage 'orders': page 1: the answer to page 1 from \(server.xmlURL) is larger than max_response_mb (1 MiB)"])
        #expect(server.requests == 1)

        let json = try await HostileServer.start { _ in .json(#"{"orders": [\#((1...40_000).map { #"{"id": \#($0), "note": "\#(String(repeating: "y", count: 40))"}"# }.joined(separator: ","))], "total_count": 40000}"#) }
        defer { Task { await json.stop() } }
        let jsonResult = try await run(connection: "type: americommerce, url: \"\(json.url)\", token: \"${AURORA_TOKEN}\", max_response_mb: 1",
                                       extract: "resource: orders")
        expectFailure(jsonResult, ["stage 'orders': page 1: the answer from \(json.url)/api/v1/orders is larger than max_response_mb (1 MiB)"])
    }

    @Test func nestingWithoutEndIsRefusedNotACrash() async throws {
        let deep = String(repeating: "<A>", count: 200_000) + String(repeating: "</A>", count: 200_000)
        let server = try await HostileServer.start { _ in .text(AuroraXML.page([AuroraXML.order(1, extra: deep)], token: nil)) }
        defer { Task { await server.stop() } }
        let result = try await run(connection: xml(server, ", retries: 0"), extract: "resource: orders")
        expectFailure(result, ["stage 'orders': page 1: bad answer at 1:", "nested more than 100 levels deep"])

        let json = try await HostileServer.start { _ in .json(#"{"orders": [{"id": 1, "x": \#(String(repeating: "[", count: 200_000))\#(String(repeating: "]", count: 200_000))}], "total_count": 1}"#) }
        defer { Task { await json.stop() } }
        let jsonResult = try await run(connection: "type: americommerce, url: \"\(json.url)\", token: \"${AURORA_TOKEN}\", retries: 0",
                                       extract: "resource: orders")
        expectFailure(jsonResult, ["stage 'orders': page 1: malformed JSON from \(json.url)/api/v1/orders", "nested more than 100 levels deep"])
    }

    // MARK: a server that is not there

    @Test func aClosedPortFailsAsRefusedAfterTheRetriesWithoutWaitingOutTimeouts() async throws {
        // A port something listened on a moment ago, closed now: the mistyped-port case.
        let gone = try await HostileServer.start { _ in .text("") }
        let url = gone.xmlURL
        await gone.stop()
        // Default settings (retries 5, connect_timeout 10 s): every attempt is refused at once,
        // so the run gives up after the backoff alone (the time is reported in the README).
        let result = try await run(connection: "type: aurora-xml, url: \"\(url)\", token: \"${AURORA_TOKEN}\"", extract: "resource: orders")
        expectFailure(result, ["stage 'orders': page 1", "cannot connect to \(url)", "connection refused", "gave up after 6 attempts"])
    }

    /// The connect probe dials what DNS understands: an international host name as punycode
    /// (however the URL writes it), an IPv6 literal without its brackets, the scheme's port.
    @Test func theConnectProbeDialsTheEncodedHost() {
        #expect(ConnectProbe.endpoint("http://bücher.example:8080/x")! == ("xn--bcher-kva.example", 8080))
        #expect(ConnectProbe.endpoint("https://xn--bcher-kva.example/x")! == ("xn--bcher-kva.example", 443))
        #expect(ConnectProbe.endpoint("http://[::1]/x")! == ("::1", 80))
        #expect(ConnectProbe.endpoint("not a url") == nil)
    }

    // MARK: secrets

    @Test func aServerThatEchoesTheRequestCannotLeakTheToken() async throws {
        // The XML API echoes the whole request (with its AuthToken) in a 400; the JSON API echoes its headers.
        let xmlServer = try await HostileServer.start { request in .text("bad request: \(request.body)", status: .badRequest, contentType: "text/plain") }
        defer { Task { await xmlServer.stop() } }
        let xmlResult = try await run(connection: xml(xmlServer), extract: "resource: orders")
        expectFailure(xmlResult, ["stage 'orders': page 1: HTTP 400 from \(xmlServer.xmlURL): bad request:", "[redacted]"])

        let jsonServer = try await HostileServer.start { request in
            .json(#"{"message": "denied", "details": "you sent \#(request.headers.map { "\($0)=\($1)" }.sorted().joined(separator: " "))"}"#, status: .forbidden)
        }
        defer { Task { await jsonServer.stop() } }
        let jsonResult = try await run(connection: "type: americommerce, url: \"\(jsonServer.url)\", token: \"${AURORA_TOKEN}\"", extract: "resource: orders")
        expectFailure(jsonResult, ["stage 'orders': page 1: HTTP 403 denied from \(jsonServer.url)/api/v1/orders", "x-ac-auth-token=[redacted]"])
    }

    @Test func aValueFromTheEnvironmentIsShownAsItsPlaceholder() throws {
        let environment = ["AURORA_TOKEN": Self.token]
        for (key, value) in [("timeout", "${AURORA_TOKEN}"), ("url", "${AURORA_TOKEN}"), ("rate_limit", "${AURORA_TOKEN}"), ("concurrency", "${AURORA_TOKEN}")] {
            let yaml = """
                version: 1
                name: p
                connections:
                  store: { type: aurora-xml, url: "https://x.example/api", token: t0ken-value, \(key): "\(value)" }
                extract:
                  orders: { connection: store, resource: orders }
                load:
                  out: { input: orders, csv: { path: o.csv } }
                """.replacingOccurrences(of: "url: \"https://x.example/api\", token: t0ken-value, url:", with: "token: t0ken-value, url:")
            let outcome = PipelineLoader.load(yaml: yaml, file: "p.yml", environment: environment)
            let text = outcome.diagnostics.map(\.description).joined(separator: "\n")
            #expect(outcome.hasErrors, "\(key)")
            #expect(text.contains("found '${AURORA_TOKEN}'"), "\(key): \(text)")
            #expect(!text.contains(Self.token), "\(key): \(text)")
        }
    }

    @Test func aRedirectIsNotFollowedWithTheCredentials() async throws {
        let elsewhere = try await HostileServer.start { _ in .json(#"{"orders": [], "total_count": 0}"#) }
        defer { Task { await elsewhere.stop() } }
        let server = try await HostileServer.start { _ in
            .text("", status: .found, contentType: "text/plain", headers: [(.location, "\(elsewhere.url)/api/v1/orders")])
        }
        defer { Task { await server.stop() } }
        let result = try await run(connection: "type: americommerce, url: \"\(server.url)\", token: \"${AURORA_TOKEN}\"", extract: "resource: orders")
        expectFailure(result, ["stage 'orders': page 1: HTTP 302 from \(server.url)/api/v1/orders"])
        #expect(elsewhere.requests == 0)
    }

    @Test func numbersWithMoreDigitsThanCanBeKeptExactlyAreRefused() async throws {
        let digits = String(repeating: "1234567890", count: 5)
        let server = try await HostileServer.start { _ in .json(#"{"orders": [{"id": 1, "total": \#(digits).5}], "total_count": 1}"#) }
        defer { Task { await server.stop() } }
        let result = try await run(connection: "type: americommerce, url: \"\(server.url)\", token: \"${AURORA_TOKEN}\", retries: 0",
                                   extract: "resource: orders")
        expectFailure(result, ["stage 'orders': page 1: malformed JSON from \(server.url)/api/v1/orders", "bad number '\(digits).5'"])
        #expect(ExactDecimal(parsing: String(repeating: "9", count: 38)) != nil)
        #expect(ExactDecimal(parsing: String(repeating: "9", count: 39)) == nil)
    }

    // MARK: text

    @Test func invalidUTF8IsKeptAsReplacementCharactersAndCounted() async throws {
        var bytes = Array(AuroraXML.page([AuroraXML.order(1, extra: "<CustomerComments>caf\u{E9}</CustomerComments>"),
                                          AuroraXML.order(2, extra: "<CustomerComments>ok</CustomerComments>")]).utf8)
        // "café" with its é as a lone Latin-1 byte.
        let at = bytes.firstIndex(of: 0xC3)!
        bytes.replaceSubrange(at..<(at + 2), with: [0xE9])
        let body = bytes
        let server = try await HostileServer.start { request in
            request.body.contains("<Page>1</Page>") ? .bytes(body) : .text(AuroraXML.page([]))
        }
        defer { Task { await server.stop() } }
        let dir = try Fixtures.workspace()
        defer { try? FileManager.default.removeItem(at: dir) }
        try """
            version: 1
            name: utf8
            connections: { store: { type: aurora-xml, url: "\(server.xmlURL)", token: t0ken-value } }
            extract: { orders: { connection: store, resource: orders } }
            load: { out: { input: orders, csv: { path: out/orders.csv, columns: [OrderID, CustomerComments] } } }
            """.write(to: dir.appendingPathComponent("p.yml"), atomically: true, encoding: .utf8)
        let cli = try await runCLIAsync(["run", "p.yml"], in: dir)
        #expect(cli.status == 0, "\(cli.stderr)")
        #expect(cli.stderr.contains("1 text value(s) from \(server.xmlURL) held invalid UTF-8 and were kept with U+FFFD in place of the bad bytes (first: page 1 at 1:"))
        let csv = try String(contentsOf: dir.appendingPathComponent("out/orders.csv"), encoding: .utf8)
        #expect(csv == "OrderID,CustomerComments\n1,caf\u{FFFD}\n2,ok\n")
    }
}
