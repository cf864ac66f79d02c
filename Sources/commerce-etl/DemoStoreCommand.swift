// `demo-store`: the built-in simulated store, served until Ctrl-C.
import ArgumentParser
import CommerceETL
import DemoStore
import Foundation

struct DemoStoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo-store",
        abstract: "Run the built-in demo store (a simulated Aurora store) until Ctrl-C.")

    @Option(help: "Port on 127.0.0.1 (0 for any free port).")
    var port = 8080
    @Option(help: "Orders to generate.")
    var orders = 100_000
    @Option(help: "Products to generate.")
    var products = 20_000
    @Option(help: "Seed: the same seed gives the same data, byte for byte.")
    var seed: UInt64 = 7
    @Option(help: "Added to every response, e.g. 50ms or 1s.")
    var latency = "0ms"
    @Option(help: "Faults per request, e.g. 500=0.05,503=0.05,429=0.05,slow=0.02,close=0.02,cut=0.02 or all=0.2.")
    var faults = ""
    @Option(help: "The AuthToken (Aurora XML) and X-AC-Auth-Token (AmeriCommerce) requests must carry (default: any non-empty token).")
    var token: String?
    @Flag(name: .shortAndLong, help: "Log each request in one line.")
    var verbose = false

    func run() async throws {
        guard (0...65_535).contains(port) else {
            printError("error: --port must be from 0 to 65535, found \(port)")
            throw ExitCode(ExitStatus.invalid)
        }
        for (name, value) in [("orders", orders), ("products", products)] where !(0...DemoStoreConfig.maxRecords).contains(value) {
            printError("error: --\(name) must be from 0 to \(DemoStoreConfig.maxRecords), found \(value)")
            throw ExitCode(ExitStatus.invalid)
        }
        guard let latency = parseDuration(latency) else {
            printError("error: --latency must look like 50ms or 2s (at most an hour), found '\(latency)'")
            throw ExitCode(ExitStatus.invalid)
        }
        let plan: FaultPlan
        do { plan = faults.isEmpty ? FaultPlan() : try FaultPlan(parsing: faults) } catch {
            printError("error: --faults: \(error)")
            throw ExitCode(ExitStatus.invalid)
        }
        let config = DemoStoreConfig(orders: orders, products: products, seed: seed, latency: latency, faults: plan, token: token)
        let server: DemoStoreServer
        var log: (@Sendable (String) -> Void)? = nil
        if verbose { log = { line in DemoStoreCommand.say("request: " + line) } }
        do { server = try await DemoStoreServer.start(config, port: port, requestLog: log) } catch {
            printError("error: \(error)")
            throw ExitCode(ExitStatus.failed)
        }
        // Written at once (not buffered until exit when standard output is a pipe), so a script
        // that starts the store can read its URLs.
        let token = self.token == nil ? "any non-empty token, e.g. local-test" : "the one given with --token"
        Self.say("demo store: \(orders) orders, \(products) products, seed \(seed), on 127.0.0.1:\(server.port)")
        Self.say("Aurora XML API:      \(server.xmlURL)  (token: \(token))")
        Self.say("Aurora v2 REST API:  \(server.auroraRESTURL)  (client_id and client_secret: any non-empty values)")
        Self.say("AmeriCommerce API:   \(server.americommerceURL)  (token: \(token))")
        Self.say("press Ctrl-C to stop")
        signal(SIGINT, SIG_IGN)
        let interrupt = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        let (stopped, finish) = AsyncStream<Void>.makeStream()
        interrupt.setEventHandler { finish.finish() }
        interrupt.resume()
        for await _ in stopped {}
        await server.stop()
        Self.say("stopped")
    }

    /// A line on standard output, written at once.
    static func say(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }
}
