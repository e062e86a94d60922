import ArgumentParser
import ZooFormats
import ZooTensor

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a checkpoint's format, metadata and tensors (headers only; nothing is loaded).")

    @Argument(help: "A .safetensors, .gguf, .npy or .npz file, a shard index, or a model folder.")
    var path: String

    @Flag(help: "Print one JSON object: {format, metadata, tensors: [{name, dtype, shape, bytes}]}.")
    var json = false

    func run() throws {
        try runReportingErrors {
            let reader = try Checkpoint.open(path)
            if json {
                print(CheckpointSummary.json(reader).serialized())
            } else {
                print(CheckpointSummary.text(reader))
            }
        }
    }
}
