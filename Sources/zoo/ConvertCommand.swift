import ArgumentParser
import Foundation
import ZooFormats
import ZooTensor

extension DTypeRequest: ExpressibleByArgument {}

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert every tensor of a checkpoint to the format named by OUTPUT's extension (.safetensors, .gguf, .npz).")

    @Argument(help: "Input checkpoint (file, shard index or model folder).")
    var input: String

    @Argument(help: "Output file; its extension names the format.")
    var output: String

    @Option(help: "dtype for floating-point tensors: keep, f32, f16, bf16 or q8_0 (q8_0 only into .gguf).")
    var dtype: DTypeRequest = .keep

    @Flag(help: "Replace OUTPUT if it exists.")
    var force = false

    @Flag(help: "Print what would be written and write nothing.")
    var dryRun = false

    func run() throws {
        try runReportingErrors {
            guard let format = CheckpointWriters.format(forPath: output) else {
                throw ZooError("cannot tell the output format from the extension (use .safetensors, .gguf or .npz)", path: output)
            }
            let start = Date()
            let reader = try Checkpoint.open(input)
            let steps = try TensorConverter.plan(reader, to: format, dtype: dtype)
            for step in steps where step.note != nil {
                Stderr.print("note: \(step.source.name): \(step.note ?? "")")
            }
            let total = try steps.reduce(0) { $0 + (try $1.target.byteCount()) }
            if dryRun {
                for step in steps {
                    print("\(step.target.name)  \(step.source.dtype.name) -> \(step.target.dtype.name)  \(step.target.shape)  \(try step.target.byteCount())")
                }
                print("\(steps.count) tensors, \(CheckpointSummary.formatBytes(total)) of tensor data would be written to \(output)")
                return
            }
            let writer = try CheckpointWriters.make(format, path: output, force: force)
            let progress = ProgressBar(total: steps.count, totalBytes: total)
            try TensorConverter.run(reader, steps: steps, writer: writer,
                                    metadata: TensorConverter.carriedMetadata(reader, to: format),
                                    progress: progress.update)
            progress.finish()
            let seconds = Date().timeIntervalSince(start)
            Stderr.print("wrote \(output): \(steps.count) tensors, \(CheckpointSummary.formatBytes(total)) in \(String(format: "%.2f", seconds)) s")
        }
    }
}

/// A progress line on stderr when it is a terminal; silent otherwise.
final class ProgressBar {
    let total: Int
    let totalBytes: Int
    let start = Date()
    let enabled = Stderr.isTerminal

    init(total: Int, totalBytes: Int) {
        self.total = total
        self.totalBytes = totalBytes
    }

    func update(_ done: Int, _ bytes: Int) {
        guard enabled else { return }
        let fraction = totalBytes > 0 ? Double(bytes) / Double(totalBytes) : 1
        let filled = Int(fraction * 30)
        let rate = Double(bytes) / max(Date().timeIntervalSince(start), 1e-6) / 1_048_576
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: 30 - filled)
        Stderr.print("\r[\(bar)] \(done)/\(total) tensors, \(CheckpointSummary.formatBytes(bytes)), \(String(format: "%.0f", rate)) MiB/s", terminator: "")
    }

    func finish() { if enabled { Stderr.print("") } }
}
