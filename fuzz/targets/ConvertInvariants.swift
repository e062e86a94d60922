// What `zoo convert` promises on any input it accepts, checked by the `convert` fuzz target
// (fuzz/targets/formats.swift) and replayed by ZooFormatsTests/FuzzRegressionTests:
// - a conversion either succeeds or throws a ZooError, and when it throws no output file is left;
// - a written file opens again, with the planned tensors (names, dtypes, shapes) and exactly the
//   bytes the converter produced for each;
// - metadata the target format can hold comes back unchanged (GGUF only; the others carry none
//   or strings).
import Foundation
import ZooFormats
import ZooTensor

struct ConversionInvariantBroken: Error, CustomStringConvertible {
    let description: String
}

/// A folder of this process's own for outputs, emptied after each conversion and removed at exit.
let conversionScratch: String = {
    let path = NSTemporaryDirectory() + "/zoo-fuzz-convert-\(getpid())"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    atexit { _ = rmdir(conversionScratch) }
    return path
}()

/// The format a file's first bytes announce (what `zoo convert` would see from its extension).
func sniffedFormat(_ file: MappedFile) -> CheckpointFormat {
    let head = Array(file.bytes.prefix(6))
    if head.starts(with: Array("GGUF".utf8)) { return .gguf }
    if head.starts(with: [0x50, 0x4B]) { return .npz }
    if head.starts(with: [0x93] + Array("NUMPY".utf8)) { return .npy }
    return .safetensors
}

func fuzzConversion(_ file: MappedFile) throws {
    let reader = try Checkpoint.open(file, as: sniffedFormat(file))
    // Big inputs only repeat what small ones show, at the cost of speed.
    guard reader.totalTensorBytes <= 1 << 20 else { return }
    for format in [CheckpointFormat.safetensors, .gguf, .npz, .npy] {
        for request in DTypeRequest.allCases {
            try convertAndReadBack(reader, to: format, request)
        }
    }
}

func convertAndReadBack(_ reader: CheckpointReader, to format: CheckpointFormat, _ request: DTypeRequest) throws {
    let out = conversionScratch + "/out." + format.rawValue
    try? FileManager.default.removeItem(atPath: out)
    defer { try? FileManager.default.removeItem(atPath: out) }
    let steps: [ConversionStep]
    do { steps = try TensorConverter.plan(reader, to: format, dtype: request) } catch is ZooError { return }
    var expected: [String: [UInt8]] = [:]
    for step in steps {
        guard let source = try? reader.tensor(step.source.name),
              let converted = try? ElementConversion.convert(source, to: step.target.dtype) else { continue }
        expected[step.target.name] = converted.withUnsafeBytes { Array($0) }
    }
    let metadata = TensorConverter.carriedMetadata(reader, to: format)
    do {
        try TensorConverter.run(reader, steps: steps, writer: try CheckpointWriters.make(format, path: out, force: true),
                                metadata: metadata)
    } catch is ZooError {
        if FileManager.default.fileExists(atPath: out) {
            throw ConversionInvariantBroken(description: "a failed \(format.rawValue) \(request.rawValue) conversion left \(out)")
        }
        return
    }
    func broken(_ what: String) -> ConversionInvariantBroken {
        ConversionInvariantBroken(description: "\(format.rawValue) \(request.rawValue): \(what)")
    }
    let back: CheckpointReader
    do { back = try Checkpoint.open(out) } catch { throw broken("the written file does not open: \(error)") }
    // A .npy file holds no name: its one array is named after the file.
    func described(_ name: String, _ dtype: DType, _ shape: Shape) -> String {
        (format == .npy ? "" : name + " ") + "\(dtype.name) \(shape)"
    }
    let planned = steps.map { described($0.target.name, $0.target.dtype, $0.target.shape) }.sorted()
    let found = back.tensors.map { described($0.name, $0.dtype, $0.shape) }.sorted()
    if planned != found { throw broken("planned \(planned), read back \(found)") }
    for step in steps {
        let name = format == .npy ? back.tensors[0].name : step.target.name
        let bytes = try back.tensor(name).withUnsafeBytes { Array($0) }
        if let want = expected[step.target.name], bytes != want {
            throw broken("\(step.target.name): \(bytes.count) bytes read back differ from the \(want.count) converted")
        }
    }
    if format == .gguf {
        for entry in metadata where !sameMetadata(back.metadataValue(entry.key), entry.value) {
            throw broken("metadata \(entry.key) \(entry.value.summary) came back as \(back.metadataValue(entry.key)?.summary ?? "nothing")")
        }
    }
}

/// Metadata equality with floats compared by bits, so that a NaN written is a NaN read.
func sameMetadata(_ a: MetadataValue?, _ b: MetadataValue) -> Bool {
    switch (a, b) {
    case (.float32(let x)?, .float32(let y)): return x.bitPattern == y.bitPattern
    case (.float64(let x)?, .float64(let y)): return x.bitPattern == y.bitPattern
    case (.array(let x)?, .array(let y)):
        return x.elementType == y.elementType && x.count == y.count && (0..<x.count).allSatisfy { sameMetadata(x[$0], y[$0]) }
    default: return a == b
    }
}
