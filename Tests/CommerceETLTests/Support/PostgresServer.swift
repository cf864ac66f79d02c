// A throwaway PostgreSQL cluster for the `postgres:` load's tests: initdb and pg_ctl in a
// temporary directory, on a free loopback port, with password authentication, started once per
// test process and stopped when it exits. PostgreSQL refuses to run as root, so as root the
// server runs as the `postgres` user (the Debian package makes it). Where no server can be
// started the tests are skipped with one line saying why, unless CETL_REQUIRE_POSTGRES is set
// (as `.ci/run` does), when they fail instead.
import Foundation
import Synchronization

struct PostgresServer: Sendable {
    let port: Int
    let user = "etl"
    let password: String
    let binaries: String
    let directory: String
    /// The server settings that turn TLS on (empty without it).
    let tlsOptions: String

    /// The server's certificate (it is its own root), or nil when it was started without TLS.
    var certificate: String? {
        let file = directory + "/data/server.crt"
        return FileManager.default.fileExists(atPath: file) ? file : nil
    }

    /// `postgres://etl:PASSWORD@127.0.0.1:PORT/DATABASE?sslmode=disable`.
    func url(_ database: String, password: String? = nil, port: Int? = nil) -> String {
        "postgres://\(user):\(password ?? self.password)@127.0.0.1:\(port ?? self.port)/\(database)?sslmode=disable"
    }

    /// Where initdb and pg_ctl are: CETL_PG_BIN, the PATH, or Debian's /usr/lib/postgresql/N/bin.
    static let binaries: String? = {
        let fm = FileManager.default
        var candidates: [String] = []
        if let dir = ProcessInfo.processInfo.environment["CETL_PG_BIN"] { candidates.append(dir) }
        candidates += (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        if let versions = try? fm.contentsOfDirectory(atPath: "/usr/lib/postgresql") {
            candidates += versions.sorted { (Int($0) ?? 0) > (Int($1) ?? 0) }.map { "/usr/lib/postgresql/\($0)/bin" }
        }
        return candidates.first { fm.isExecutableFile(atPath: $0 + "/initdb") && fm.isExecutableFile(atPath: $0 + "/pg_ctl") }
    }()

    static let required = ProcessInfo.processInfo.environment["CETL_REQUIRE_POSTGRES"] != nil

    /// Why the tests cannot have a server here, or nil when they can try.
    static let unavailable: String? = {
        guard binaries != nil else { return "no PostgreSQL server programs (initdb, pg_ctl) here; install the postgresql package" }
        if geteuid() == 0, getpwnam("postgres") == nil { return "running as root and there is no 'postgres' user to run the server as" }
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/psql") || (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").contains(where: { FileManager.default.isExecutableFile(atPath: "\($0)/psql") }) {
            return nil
        }
        return "no psql (the tests read tables back with it); install postgresql-client"
    }()

    /// Whether the PostgreSQL tests run (printing once why not when they do not).
    static let enabled: Bool = {
        if let reason = unavailable, !required {
            print("PostgreSQL tests skipped: \(reason)")
            return false
        }
        return true
    }()

    private static let started = Mutex<Result<PostgresServer, any Error>?>(nil)

    /// The cluster, started on first use.
    static func shared() async throws -> PostgresServer {
        if let reason = unavailable { throw ETLTestFailure("PostgreSQL tests need a server: \(reason)") }
        if let done = started.withLock({ $0 }) { return try done.get() }
        let result: Result<PostgresServer, any Error>
        do { result = .success(try await start()) } catch { result = .failure(error) }
        return try started.withLock { value in
            if let earlier = value {
                // Another test started one meanwhile: keep the first, stop this one.
                if case .success(let extra) = result { extra.stop() }
                return try earlier.get()
            }
            value = result
            return try result.get()
        }
    }

    private static func start() async throws -> PostgresServer {
        let bin = binaries!
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cetl-pg-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let password = "pw-" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16)
        try password.write(toFile: dir + "/pw", atomically: true, encoding: .utf8)
        if geteuid() == 0, let account = getpwnam("postgres") {
            _ = chown(dir, account.pointee.pw_uid, account.pointee.pw_gid)
            _ = chown(dir + "/pw", account.pointee.pw_uid, account.pointee.pw_gid)
        }
        try await asServer([bin + "/initdb", "-D", dir + "/data", "-U", "etl", "--pwfile=" + dir + "/pw", "--auth=scram-sha-256",
                            "-E", "UTF8", "--no-locale"], what: "initdb")
        // TLS: a self-signed certificate for localhost (its own root, for sslrootcert), and the
        // role `tls_only` refused without TLS, so a test can tell that a connection used it.
        var tlsOptions = ""
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") {
            try await asServer(["/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                                "-addext", "subjectAltName=DNS:localhost", "-keyout", dir + "/data/server.key", "-out", dir + "/data/server.crt"],
                               what: "openssl req")
            let hba = dir + "/data/pg_hba.conf"
            let rules = try String(contentsOfFile: hba, encoding: .utf8)
            try ("hostnossl all tls_only 127.0.0.1/32 reject\n" + rules).write(toFile: hba, atomically: false, encoding: .utf8)
            tlsOptions = " -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key"
        }
        for _ in 0..<5 {
            let server = PostgresServer(port: freePort(), password: String(password), binaries: bin, directory: dir, tlsOptions: tlsOptions)
            do {
                try await server.startServer()
                stopAtExit(server)
                return server
            } catch {
                continue   // the port was taken between finding it and the server binding it
            }
        }
        throw ETLTestFailure("could not start PostgreSQL: see \(dir)/server.log")
    }

    private func startServer() async throws {
        try await Self.asServer([binaries + "/pg_ctl", "-D", directory + "/data", "-l", directory + "/server.log", "-w", "-t", "30", "-o",
                                 "-p \(port) -k \(directory) -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" + tlsOptions,
                                 "start"], what: "pg_ctl start")
    }

    /// Stops the server as a crash would (every connection cut at once), keeping its data.
    func crash() async throws {
        try await Self.asServer([binaries + "/pg_ctl", "-D", directory + "/data", "-m", "immediate", "-w", "stop"], what: "pg_ctl stop")
    }

    /// Starts a crashed server again, on the same port.
    func restart() async throws { try await startServer() }

    func stop() {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: geteuid() == 0 ? "/usr/sbin/runuser" : binaries + "/pg_ctl")
        process.arguments = (geteuid() == 0 ? ["-u", "postgres", "--", binaries + "/pg_ctl"] : []) + ["-D", directory + "/data", "-m", "immediate", "-w", "stop"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try? process.run()
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs a server program (as `postgres` when this is root), failing with its output.
    private static func asServer(_ command: [String], what: String) async throws {
        let arguments = geteuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--"] + command : command
        let result = try await runProcess(arguments)
        guard result.status == 0 else { throw ETLTestFailure("\(what) failed: \(result.output.suffix(500))") }
    }

    /// psql's rows for `sql` on `database`, null as `NULL` (read with the ASCII unit and record
    /// separators, so text holding `|` or a newline comes back whole).
    func query(_ database: String, _ sql: String) async throws -> [[String]] {
        let psql = FileManager.default.isExecutableFile(atPath: binaries + "/psql") ? binaries + "/psql" : "/usr/bin/psql"
        let result = try await PostgresServer.runProcess(["/usr/bin/env", "PGPASSWORD=\(password)", psql, "-X", "-q", "-A", "-t", "-F", "\u{1f}", "-R", "\u{1e}",
                                                          "-P", "null=NULL", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", "\(port)", "-U", user,
                                                          "-d", database, "-c", sql])
        guard result.status == 0 else { throw ETLTestFailure("psql: \(result.output)") }
        var output = Substring(result.output)
        if output.hasSuffix("\n") { output = output.dropLast() }
        return output.split(separator: "\u{1e}", omittingEmptySubsequences: true).map { $0.split(separator: "\u{1f}", omittingEmptySubsequences: false).map(String.init) }
    }

    /// A new empty database for one test.
    func database() async throws -> String {
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        _ = try await query("postgres", "CREATE DATABASE \(name)")
        return name
    }

    /// Runs a program to its end, its output (both streams) collected in a file: not through
    /// `Process` and a pipe, since `pg_ctl start` leaves a daemon behind that would hold them.
    static func runProcess(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("cetl-run-\(UUID().uuidString)").path
        defer { unlink(log) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else of this process goes with it: `pg_ctl start` leaves the server running,
        // and a descriptor it inherited (Foundation watches each `Process` it started through a
        // socket the child holds) would keep another test waiting for its child to end.
        try closeFrom(3, &actions)
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, arguments[0], &actions, nil, &argv, environ)
        guard spawned == 0 else { throw ETLTestFailure("cannot run \(arguments[0]): \(String(cString: strerror(spawned)))") }
        let child = pid
        let status: Int32 = await withCheckedContinuation { done in
            DispatchQueue.global().async {
                var status: Int32 = 0
                while waitpid(child, &status, 0) < 0, errno == EINTR {}
                done.resume(returning: status)
            }
        }
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        let exited = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (exited, output)
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later), which Swift's Glibc
    /// module does not declare.
    private static func closeFrom(_ fd: Int32, _ actions: inout posix_spawn_file_actions_t) throws {
        typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else {
            throw ETLTestFailure("this C library has no posix_spawn_file_actions_addclosefrom_np (glibc 2.34 or later)")
        }
        _ = unsafeBitCast(symbol, to: AddCloseFrom.self)(&actions, fd)
    }

    private static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

struct ETLTestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The started server, stopped by `atexit` (a C function cannot capture it).
private let serverToStop = Mutex<PostgresServer?>(nil)

private func stopAtExit(_ server: PostgresServer) {
    let first = serverToStop.withLock { value -> Bool in
        defer { value = server }
        return value == nil
    }
    if first { atexit { serverToStop.withLock { $0 }?.stop() } }
}
