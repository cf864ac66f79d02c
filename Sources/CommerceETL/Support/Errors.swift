/// Wraps the thrown error of a stage with the stage id, for "stage 'orders': ..." messages.
public struct StageError: Error, CustomStringConvertible {
    public var stage: String
    public var underlying: any Error
    public var description: String { "stage '\(stage)': \(describe(underlying))" }
}

/// A plain, one-line error message.
public struct ETLError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

func describe(_ error: any Error) -> String {
    String(describing: error).replacingOccurrences(of: "\n", with: " ")
}
