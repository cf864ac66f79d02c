// Runs a pipeline's stage graph: every stage is a task, joined by bounded channels that carry
// batches of records. A stage's output is sent to each of its readers in turn (fan-out), so the
// slowest reader sets the pace. The first error fails every channel and cancels every task, and
// the graph returns only when all have stopped. It knows no stage kind: each stage is a
// `StageTask`.

/// One stage as the graph runs it: reads its input channel (none for an extract) and sends what
/// it produces to its readers.
protocol StageTask: Sendable {
    func run(input: BoundedChannel<Batch>?, output: FanOut) async throws -> StageStats
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
    /// The stages in file order, each with the stage it reads and how many batches to buffer
    /// between it and each of its readers.
    struct Node {
        var id: String
        var input: String?
        var buffer: Int
        var task: any StageTask
    }

    let nodes: [Node]

    /// Runs every task at once; their stats in file order, or the first real error (a stage's
    /// error is wrapped as `StageError` naming it).
    func run() async throws -> [StageStats] {
        // One channel per (producer, reader) edge.
        var inbox: [String: BoundedChannel<Batch>] = [:]
        var outboxes: [String: [BoundedChannel<Batch>]] = [:]
        for node in nodes {
            guard let input = node.input, let producer = nodes.first(where: { $0.id == input }) else { continue }
            let channel = BoundedChannel<Batch>(capacity: producer.buffer)
            inbox[node.id] = channel
            outboxes[input, default: []].append(channel)
        }
        let allChannels = Array(inbox.values)
        let stats = try await withThrowingTaskGroup(of: StageStats.self) { group in
            for node in nodes {
                let output = FanOut(outputs: outboxes[node.id] ?? [])
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
