import ArgumentParser
import Foundation
import ZooFormats
import ZooModels
import ZooTensor

extension DTypeRequest: ExpressibleByArgument {}

enum ConvertTarget: String, ExpressibleByArgument, CaseIterable {
    case gguf, safetensors, npz, hf, timm
}

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a model or checkpoint: GPT-2/ViT models to GGUF as llama.cpp expects and back to Hugging Face folders; any checkpoint tensor by tensor.",
        discussion: """
        A GPT-2 or ViT model (a Hugging Face or timm folder, or a GGUF Zoo wrote) is converted through the naming tables: \
        to GGUF with llama.cpp's names, layout, hyperparameters and tokenizer, or with --to hf to a Hugging Face folder. \
        Anything else (or --tensor-level) is converted tensor by tensor into the format named by OUTPUT's extension. \
        Every output is re-read and checked against the source before it appears.
        """)

    @Argument(help: "Input: a model folder, a .gguf, or any checkpoint file / shard index.")
    var input: String

    @Argument(help: "Output file (or folder for --to hf); its extension names the format unless --to is given.")
    var output: String

    @Option(help: "Output kind: gguf, safetensors, npz (tensor files), hf (a Hugging Face model folder) or timm (a timm ViT folder).")
    var to: ConvertTarget?

    @Flag(help: "Convert tensor by tensor with the names as they are, even when the input is a model.")
    var tensorLevel = false

    @Option(help: "dtype for floating-point tensors: keep, f32, f16, bf16 or q8_0 (q8_0 only into .gguf).")
    var dtype: DTypeRequest = .keep

    @Flag(help: "Replace OUTPUT if it exists.")
    var force = false

    @Flag(help: "Print what would be written and write nothing.")
    var dryRun = false

    func run() throws {
        try runReportingErrors {
            if !tensorLevel, let kind = ModelKind.detect(input), to != .npz, to != .safetensors {
                if try convertModel(kind) { return }
            }
            if to == .hf || to == .timm { throw ZooError("--to \(to?.rawValue ?? "") needs a model (a GGUF with general.architecture gpt2 or vit, or a model folder with config.json)", path: input) }
            guard let format = to.flatMap({ CheckpointWriters.format(forPath: "x." + $0.rawValue) }) ?? CheckpointWriters.format(forPath: output) else {
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

extension Convert {
    /// Model-aware conversion; false when this input/output pair is not a model conversion.
    func convertModel(_ kind: ModelKind) throws -> Bool {
        let start = Date()
        let wantsHF = to == .hf || to == .timm
        let wantsGGUF = to == .gguf || (to == nil && output.lowercased().hasSuffix(".gguf"))
        guard wantsHF || wantsGGUF else { return false }
        switch kind {
        case .gpt2:
            if wantsHF {
                let progress = ProgressBar(total: 0, totalBytes: 0)
                let result = try GPT2Conversion.toHuggingFace(model: input, folder: output, dtype: dtype, force: force, progress: progress.update)
                progress.finish()
                report(result, start: start, what: "Hugging Face GPT-2 folder")
                return true
            }
            let (plan, _) = try GPT2Conversion.toGGUF(model: input, output: output, dtype: dtype, force: force, dryRun: true)
            if dryRun {
                printPlan(plan)
                return true
            }
            let progress = ProgressBar(total: plan.count, totalBytes: try plan.reduce(0) { $0 + (try $1.target.byteCount()) })
            let (_, result) = try GPT2Conversion.toGGUF(model: input, output: output, dtype: dtype, force: force, progress: progress.update)
            progress.finish()
            if let result { report(result, start: start, what: "GGUF (gpt2, llama.cpp layout)") }
            return true
        case .vit:
            return try convertViT(start: start, wantsHF: wantsHF)
        }
    }

    func printPlan(_ plan: [MappedTensor]) {
        var total = 0
        for entry in plan {
            let bytes = (try? entry.target.byteCount()) ?? 0
            total += bytes
            print("\(entry.target.name)  \(entry.sourceDType.name) -> \(entry.target.dtype.name)  \(entry.target.shape)  \(bytes)  (\(entry.field))")
        }
        print("\(plan.count) tensors, \(CheckpointSummary.formatBytes(total)) of tensor data would be written to \(output)")
    }

    func report(_ result: ModelConversionResult, start: Date, what: String) {
        let seconds = Date().timeIntervalSince(start)
        let checks = result.worstError.sorted { $0.key.name < $1.key.name }
            .map { "\($0.key.name) \($0.value == 0 ? "exact" : String(format: "max rel %.2e", $0.value))" }.joined(separator: ", ")
        Stderr.print("wrote \(result.output): \(what), \(result.tensors) tensors, \(CheckpointSummary.formatBytes(result.bytes)) in \(String(format: "%.2f", seconds)) s; re-read and checked: \(checks)" + (result.notes.isEmpty ? "" : "; " + result.notes.joined(separator: "; ")))
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

extension Convert {
    func convertViT(start: Date, wantsHF: Bool) throws -> Bool {
        if dryRun { throw ZooError("--dry-run is not available for ViT model conversion yet; use --tensor-level --dry-run to list the tensors") }
        let progress = ProgressBar(total: 0, totalBytes: 0)
        if wantsHF {
            if to == .hf && input.lowercased().hasSuffix(".gguf") == false && ModelKind.detect(input) == .gpt2 { return false }
            let result = try ViTConversion.toFolder(model: input, folder: output, convention: to == .timm ? .timm : .huggingFace,
                                                    dtype: dtype, force: force, progress: progress.update)
            progress.finish()
            report(result, start: start, what: to == .timm ? "timm ViT folder" : "Hugging Face ViT folder")
            return true
        }
        let result = try ViTConversion.toGGUF(model: input, output: output, dtype: dtype, force: force, progress: progress.update)
        progress.finish()
        report(result, start: start, what: "GGUF (vit, Zoo's layout)")
        return true
    }
}
