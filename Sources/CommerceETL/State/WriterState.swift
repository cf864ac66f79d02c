// A load writer's state at a checkpoint is a `Codable` value of the format's own type; the
// checkpoint file keeps it as JSON. These convert between the two, so a writer reads back the
// typed state it wrote, and a checkpoint of the wrong shape is one clear error.
import Foundation

extension Value {
    /// The JSON form of a writer's typed state.
    public init(state: some Encodable) throws {
        let data = try JSONEncoder().encode(state)
        self = try JSONReader.parse(Array(data))
    }

    /// A writer's typed state read back; `what` names the output in the error when the
    /// checkpoint does not have that shape.
    public func state<T: Decodable>(_ type: T.Type, of what: String) throws -> T {
        var bytes: [UInt8] = []
        JSONWriter.write(self, into: &bytes)
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch {
            throw ETLError("the checkpoint of \(what) is not of this tool's shape; discard it with 'commerce-etl state reset'")
        }
    }
}
