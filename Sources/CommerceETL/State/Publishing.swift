// What finishing a run's publication needs, saved in the checkpoint before it starts.
import Foundation

/// What finishing a run's publication needs, saved in the checkpoint before it starts.
struct Publishing: Sendable {
    var files: [StagedFile]
    var obsolete: [String]
    var stages: [StageStats]
    var bookmarks: [String: Timestamp]
    var acknowledgements = false

    var value: Value {
        var marks = Record()
        for (stage, t) in bookmarks.sorted(by: { $0.key < $1.key }) { marks[stage] = .string(t.description) }
        return .object(["files": .array(files.map { .array([.string($0.temporary), .string($0.final)]) }),
                        "obsolete": .array(obsolete.map { .string($0) }),
                        "stages": .array(stages.map(\.value)), "bookmarks": .object(marks), "acknowledgements": .bool(acknowledgements)])
    }
}

// In an extension, so the memberwise initializer stays.
extension Publishing {
    init?(_ value: Value) {
        guard case .array(let files)? = value["files"], case .array(let obsolete)? = value["obsolete"],
              case .array(let stages)? = value["stages"], case .object(let marks)? = value["bookmarks"] else { return nil }
        self.files = files.compactMap { f in
            guard case .array(let pair) = f, pair.count == 2, let t = pair[0].string, let final = pair[1].string else { return nil }
            return StagedFile(temporary: t, final: final)
        }
        self.obsolete = obsolete.compactMap(\.string)
        self.stages = stages.compactMap(StageStats.init(value:))
        var bookmarks: [String: Timestamp] = [:]
        for (stage, v) in marks.fields { if let text = v.string, case .dateTime(let t)? = DateParser.parse(text) { bookmarks[stage] = t } }
        self.bookmarks = bookmarks
        self.acknowledgements = value["acknowledgements"]?.bool ?? false
    }
}
