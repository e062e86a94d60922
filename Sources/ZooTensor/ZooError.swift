/// The one error type every layer throws for problems a user can cause (a bad file, a bad flag).
///
/// The message always says what was expected and what was found; `path` and `tensor` say where.
public struct ZooError: Error, CustomStringConvertible, Equatable, Sendable {
    public var path: String?
    public var tensor: String?
    public var message: String

    public init(_ message: String, path: String? = nil, tensor: String? = nil) {
        self.message = message
        self.path = path
        self.tensor = tensor
    }

    public var description: String {
        var parts: [String] = []
        if let path { parts.append(path) }
        if let tensor { parts.append("tensor '\(tensor)'") }
        parts.append(message)
        return parts.joined(separator: ": ")
    }

    /// The same error with a path filled in where the thrower did not know it.
    public func at(path newPath: String) -> ZooError {
        var copy = self
        if copy.path == nil { copy.path = newPath }
        return copy
    }

    public func at(tensor name: String) -> ZooError {
        var copy = self
        if copy.tensor == nil { copy.tensor = name }
        return copy
    }
}

/// Runs `body`, attaching `path` to any ZooError that lacks one and wrapping other errors.
@inlinable
public func withErrorContext<T>(path: String, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as ZooError {
        throw error.at(path: path)
    } catch {
        throw ZooError("\(error)", path: path)
    }
}
