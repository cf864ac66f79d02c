// Turns a validated pipeline into the graph a run executes: a task per stage, and a load per
// quarantine file reading the side outputs of the stages whose steps quarantine into it. The one
// place that knows the stage roles; each task lives in its own file.

/// What the stage tasks of one run share besides their channels.
struct RunServices: Sendable {
    let run: RunContext
    let plan: ResumePlan
    let checkpoints: CheckpointCoordinator
    let checkpointEvery: Int
    let writers: WriterRegistry
    let results: LoadResults
}

extension Pipeline {
    /// An output every mark of an extract must reach before the mark is saved: a load stage or a
    /// quarantine file.
    struct Output {
        var id: String
        var load: any LoadFormat
        var kind: String
        var format: String
        var inputs: [StageGraph.Edge]
    }

    /// Every output, load stages in file order, then quarantine files in the order first named.
    var outputs: [Output] {
        var outputs: [Output] = []
        for stage in stages {
            if case .load(let format, let load) = stage.role, let input = stage.input {
                outputs.append(Output(id: stage.id, load: load, kind: "load", format: format, inputs: [StageGraph.Edge(from: input)]))
            }
        }
        var quarantine: [(load: QuarantineLoad, stages: [String])] = []
        for stage in stages {
            guard case .transform(let steps, _) = stage.role else { continue }
            for path in ErrorPolicy.quarantinePaths(steps) {
                if let i = quarantine.firstIndex(where: { $0.load.path == path }) {
                    quarantine[i].stages.append(stage.id)
                } else {
                    quarantine.append((QuarantineLoad(path: path), [stage.id]))
                }
            }
        }
        for (load, readers) in quarantine {
            outputs.append(Output(id: load.nodeID, load: load, kind: "quarantine", format: "ndjson",
                                  inputs: readers.map { StageGraph.Edge(from: $0, port: .side(load.path)) }))
        }
        return outputs
    }

    /// Per extract, the outputs that must report each of its marks.
    var checkpointOutputs: [String: Set<String>] {
        var result: [String: Set<String>] = [:]
        for stage in stages where stage.input == nil { result[stage.id] = [] }
        for output in outputs {
            for edge in output.inputs { result[root(of: edge.from), default: []].insert(output.id) }
        }
        return result
    }

    /// The output a checkpoint names, to take back what an interrupted run wrote to it.
    func output(_ id: String) -> Output? { outputs.first { $0.id == id } }

    /// The stage graph of a run.
    func graph(_ services: RunServices) -> StageGraph {
        var nodes: [StageGraph.Node] = []
        for stage in stages {
            switch stage.role {
            case .extract(_, _, let extractor, let batchSize):
                let task = ExtractTask(id: stage.id, extractor: extractor, batchSize: batchSize, maxPages: stage.maxPages,
                                       checkpointEvery: services.checkpointEvery, resume: services.plan.extracts[stage.id], run: services.run)
                nodes.append(StageGraph.Node(id: stage.id, inputs: [], buffer: stage.buffer, task: task))
            case .transform(let steps, let workers):
                // What the interrupted run this one continues had counted, to count on from.
                let resumed = services.plan.extracts[root(of: stage.id)]?.transforms[stage.id] ?? [0, 0, 0, 0]
                let task = TransformTask(id: stage.id, steps: steps, workers: workers, run: services.run, resumed: resumed)
                nodes.append(StageGraph.Node(id: stage.id, inputs: stage.input.map { [StageGraph.Edge(from: $0)] } ?? [], buffer: stage.buffer, task: task))
            case .load:
                continue
            }
        }
        for output in outputs {
            // The state to continue from: the interrupted run's, at the mark of (one of) the extracts above it, or the output's base.
            let resume = output.inputs.lazy.compactMap { services.plan.state(of: output.id, extract: root(of: $0.from)) }.first
                ?? services.plan.bases[output.id].map { Value.object(["base": $0]) }
            let task = LoadTask(id: output.id, kind: output.kind, format: output.format, load: output.load, resume: resume, services: services)
            nodes.append(StageGraph.Node(id: output.id, inputs: output.inputs, buffer: PipelineKeys.buffer.value, task: task))
        }
        return StageGraph(nodes: nodes)
    }
}
