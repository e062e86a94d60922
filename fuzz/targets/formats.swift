// libFuzzer entry: the bytes are one file in the format named by ZOO_FUZZ_FORMAT (safetensors,
// gguf, npy, npz, json), opened and fully read (every tensor touched) as `zoo inspect` and
// `zoo convert` would. Any ZooError is fine; a crash, hang or sanitizer report is a finding.
// ZOO_FUZZ_FORMAT=convert: the bytes are a checkpoint of any format (told by its magic), converted
// by TensorConverter to every format and dtype request as `zoo convert` does, and the output read
// back: ConvertInvariants.swift says what must hold (a broken promise is a trap, so a finding).
import ZooFormats
import ZooTensor

#if canImport(Glibc)
import Glibc
#endif

let format: String = {
    if let raw = getenv("ZOO_FUZZ_FORMAT") { return String(cString: raw) }
    return "safetensors"
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let file = MappedFile(copying: bytes, path: "fuzz-input." + format)
    do {
        if format == "convert" {
            try fuzzConversion(file)
            return 0
        }
        if format == "json" {
            _ = try JSON.parse(bytes)
            return 0
        }
        let reader = try Checkpoint.open(file, as: CheckpointFormat(rawValue: format) ?? .safetensors)
        for info in reader.tensors {
            let t = try reader.tensor(info.name)
            if t.count <= 1 << 16 { _ = try? t.floats() }
        }
        for entry in reader.metadata { _ = entry.value.summary }
    } catch {
        // Rejected cleanly.
    }
    return 0
}
