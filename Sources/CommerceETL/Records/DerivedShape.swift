// Records built from other records by the same change each time (a field taken out, fields
// added), as `explode` builds one row per order line. Records of one source nearly always share
// the storage of their keys (the XML reader builds every `Item` from one template), so the keys
// and hash table of the last record built are reused while the source's keys are the same
// array: building a row is then copying values, not hashing names again.
import OrderedCollections

struct DerivedShape {
    private var source: [String]? = nil
    private var template = OrderedDictionary<String, Value>()
    /// Where each of the source's fields goes in the derived record (-1: left out), and where
    /// the added fields go.
    private var places: [Int] = []
    private var addedPlaces: [Int] = []

    /// `record` without the field `removing`, then with the fields `adding` (null until set
    /// with `setAdded`; a name it already has keeps its place), as `removeValue` and assignment
    /// would make it.
    mutating func derive(from record: Record, removing: String? = nil, adding: [String] = []) -> Record {
        let keys = record.fields.keys.elements
        if keys != source {   // the same storage compares equal at once
            var shape = record.fields
            shape.values.withUnsafeMutableBufferPointer { values in
                for i in values.indices { values[i] = .null }
            }
            if let removing { shape.removeValue(forKey: removing) }
            for name in adding { shape[name] = .null }
            source = keys
            places = keys.map { shape.index(forKey: $0) ?? -1 }
            if let removing, let i = keys.firstIndex(of: removing) { places[i] = -1 }
            addedPlaces = adding.map { shape.index(forKey: $0)! }
            template = shape
        }
        var fields = template
        fields.values.withUnsafeMutableBufferPointer { values in
            record.fields.values.withUnsafeBufferPointer { from in
                for i in from.indices where places[i] >= 0 { values[places[i]] = from[i] }
            }
        }
        return Record(fields)
    }

    /// Sets the `k`th of the fields `derive` added.
    func setAdded(_ k: Int, to value: Value, in record: inout Record) {
        record.fields.values[addedPlaces[k]] = value
    }
}
