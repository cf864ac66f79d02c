// Runs a pipeline's stage graph: every stage is a task, joined by bounded channels that carry
// batches of records. A stage's output is sent to each of its readers in turn (fan-out), so the
// slowest reader sets the pace. Besides its records a stage may have side outputs (the records
// its steps quarantine), read like any other output. The first error fails every channel and
// cancels every task, and the graph returns only when all have stopped. It knows no stage kind:
// each stage is a `StageTask`.

/// One stage as the graph runs it: reads its input channel (none for an extract) and sends what
/// it produces to its readers.
protocol StageTask: Sendable {
    func run(input: BoundedChannel<Batch>?, output: StageOutputs) async throws -> StageStats
}

/// Which of a stage's outputs an edge reads.
enum Port: Hashable, Sendable {
    /// The stage's records.
    case records
    /// A side output, by name (a quarantine file's path).
    case side(String)
}

/// Where a stage sends what it produces.
struct StageOutputs: Sendable {
    let records: FanOut
    let side: [String: FanOut]

    /// Sends to every side output (a checkpoint mark every reader must see).
    func sendToSides(_ batch: Batch) async throws {
        for output in side.values { try await output.send(batch) }
    }

    func finish() {
        records.finish()
        for output in side.values { output.finish() }
    }
}

/// Sends each batch to every reader of a stage, in order.
struct FanOut: Sendable {
    let outputs: [BoundedChannel<Batch>]

    func send(_ batch: Batch) async throws {
        for output in outputs { try await output.send(batch) }
    }

    func finish() {
        for output in outputs { output.finish() }
    }
}

struct StageGraph {
    /// One output of one stage, read by another.
    struct Edge: Hashable {
        var from: String
        var port: Port = .records
    }

    /// A stage, with the outputs it reads (one, none for an extract, several for a quarantine
    /// file) and how many batches to buffer between it and each of its readers.
    struct Node {
        var id: String
        var inputs: [Edge]
        var buffer: Int
        var task: any StageTask
    }

    let nodes: [Node]

    /// Runs every task at once; their stats in file order, or the first real error (a stage's
    /// error is wrapped as `StageError` naming it).
    func run() async throws -> [StageStats] {
        // One channel per reader, fed by each output it reads.
        var inbox: [String: BoundedChannel<Batch>] = [:]
        var outboxes: [Edge: [BoundedChannel<Batch>]] = [:]
        for node in nodes where !node.inputs.isEmpty {
            let producers = node.inputs.compactMap { edge in nodes.first { $0.id == edge.from } }
            guard producers.count == node.inputs.count else { continue }
            let channel = BoundedChannel<Batch>(capacity: producers.map(\.buffer).max() ?? node.buffer, producers: node.inputs.count)
            inbox[node.id] = channel
            for edge in node.inputs { outboxes[edge, default: []].append(channel) }
        }
        let allChannels = Array(inbox.values)
        let stats = try await withThrowingTaskGroup(of: StageStats.self) { group in
            for node in nodes {
                var side: [String: FanOut] = [:]
                for (edge, channels) in outboxes where edge.from == node.id {
                    if case .side(let name) = edge.port { side[name] = FanOut(outputs: channels) }
                }
                let output = StageOutputs(records: FanOut(outputs: outboxes[Edge(from: node.id)] ?? []), side: side)
                let input = inbox[node.id]
                group.addTask {
                    do {
                        return try await node.task.run(input: input, output: output)
                    } catch {
                        let wrapped: any Error = (error is CancellationError || error is StageError)
                            ? error : StageError(stage: node.id, underlying: error)
                        for channel in allChannels { channel.fail(wrapped) }
                        throw wrapped
                    }
                }
            }
            var collected: [StageStats] = []
            do {
                while let s = try await group.next() { collected.append(s) }
            } catch {
                group.cancelAll()
                // Wait for every stage to stop before the caller cleans up, and report the first real error.
                var first = error
                while true {
                    do {
                        guard try await group.next() != nil else { break }
                    } catch let other {
                        if first is CancellationError, !(other is CancellationError) { first = other }
                    }
                }
                throw first
            }
            return collected
        }
        let order = nodes.map(\.id)
        return stats.sorted { order.firstIndex(of: $0.id)! < order.firstIndex(of: $1.id)! }
    }
}
