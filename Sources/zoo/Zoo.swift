import ArgumentParser
import ZooTensor
#if canImport(Glibc)
import Glibc
#endif

@main
struct Zoo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zoo",
        abstract: "Read, convert, run and verify transformer checkpoints (safetensors, GGUF, .npy/.npz).",
        version: ZooVersion.string,
        subcommands: [Inspect.self, Convert.self, Run.self, Tokenize.self, Verify.self, Bench.self])
}

enum ZooVersion {
    static let string = "0.1.0"
}

/// Prints a ZooError as one line on stderr and exits non-zero, instead of ArgumentParser's usage dump.
func runReportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ZooError {
        Stderr.print("zoo: error: \(error)")
        throw ExitCode(2)
    }
}

enum Stderr {
    static func print(_ text: String, terminator: String = "\n") {
        let line = text + terminator
        _ = line.withCString { write(2, $0, strlen($0)) }
    }
    static var isTerminal: Bool { isatty(2) != 0 }
}
