// Checkpoints written by an earlier version still load: a run interrupted before an upgrade is
// continued by the new binary, quarantine files included.
import Foundation
import Testing
@testable import CommerceETL

@Suite struct CheckpointFormatTests {
    @Test func anEarlierVersionsQuarantineOutputIsFoundUnderItsNewName() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("checkpoint-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let legacy = """
            {"version":1,"run_id":"r1","run_date":"2026-12-01","pipeline_sha256":"abc","extracts":{"orders":{"seq":3,"pages":3,"records":60,"final":false,"position":{"page":4},
             "outputs":{"lines_csv":{"offset":10},"quarantine:out/bad.ndjson":{"opened":true,"temporary":["out/.bad.ndjson.r1.tmp"],"offset":120,"records":2}}}},"bases":{},"publishing":null}
            """
        try Data(legacy.utf8).write(to: dir.appendingPathComponent("checkpoint.json"))
        let saved = try #require(try SavedCheckpoint.load(directory: dir.path))
        let outputs = try #require(saved.extracts["orders"]?.outputs)
        #expect(Set(outputs.keys) == ["lines_csv", "quarantine(out/bad.ndjson)"])
        let state = try #require(outputs["quarantine(out/bad.ndjson)"]).state(QuarantineLoad.State.self, of: "out/bad.ndjson")
        #expect(state.opened && state.offset == 120 && state.records == 2)
        #expect(QuarantineLoad(path: "out/bad.ndjson").nodeID == "quarantine(out/bad.ndjson)")
    }
}
