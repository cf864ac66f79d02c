// Turns a validated stage into the task the graph runs. The one place that knows the three
// stage roles; each task lives in its own file.

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
    /// The stage graph of a run.
    func graph(_ services: RunServices) -> StageGraph {
        StageGraph(nodes: stages.map { stage in
            StageGraph.Node(id: stage.id, input: stage.input, buffer: stage.buffer, task: task(for: stage, services))
        })
    }

    private func task(for stage: Stage, _ services: RunServices) -> any StageTask {
        switch stage.role {
        case .extract(_, _, let extractor, let batchSize):
            return ExtractTask(id: stage.id, extractor: extractor, batchSize: batchSize, maxPages: stage.maxPages,
                               checkpointEvery: services.checkpointEvery, resume: services.plan.extracts[stage.id], run: services.run)
        case .transform(let steps, let workers):
            return TransformTask(id: stage.id, steps: steps, workers: workers, run: services.run, checkpoints: services.checkpoints)
        case .load(let format, let load):
            let resume = services.plan.state(of: stage.id, extract: root(of: stage.id)) ?? services.plan.bases[stage.id].map { Value.object(["base": $0]) }
            return LoadTask(id: stage.id, format: format, load: load, resume: resume, services: services)
        }
    }
}
