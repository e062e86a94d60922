import Foundation
import XCTest
import ZooTensor
@testable import ZooFormats

/// Files Zoo writes read back bit-exactly in Zoo and in the reference libraries.
final class RoundTripTests: XCTestCase {
    let scratch = ScratchFolder()

    /// Random tensors of every plain dtype, including a scalar and a zero-size dimension.
    func sampleTensors() throws -> [(String, Tensor)] {
        var rng = SystemRandomNumberGenerator()
        func random(_ dtype: DType, _ shape: Shape) throws -> Tensor {
            let t = try Tensor(zeros: dtype, shape: shape)
            if let dst = t.mutableBytes { for i in 0..<dst.count { dst[i] = UInt8.random(in: 0...255, using: &rng) } }
            // bool must be 0/1; keep float NaN payloads out so value comparisons in Python stay exact.
            if dtype == .bool, let dst = t.mutableBytes { for i in 0..<dst.count { dst[i] &= 1 } }
            if dtype.isFloatingPoint {
                var values = [Float](repeating: 0, count: t.count)
                for i in 0..<values.count { values[i] = Float.random(in: -4...4, using: &rng) }
                values.append(contentsOf: [])
                return try values.withUnsafeBufferPointer { try ElementConversion.fromF32($0, as: dtype, shape: shape) }
            }
            return t
        }
        return [
            ("f32", try random(.f32, [3, 5])), ("f16", try random(.f16, [7])), ("bf16", try random(.bf16, [2, 3])),
            ("f64", try random(.f64, [4])), ("i8", try random(.i8, [5])), ("i16", try random(.i16, [2, 2])),
            ("i32", try random(.i32, [3])), ("i64", try random(.i64, [2])), ("u8", try random(.u8, [6])),
            ("bool", try random(.bool, [4])), ("scalar", try random(.f32, [])), ("empty", try random(.f32, [0, 3])),
        ]
    }

    func write(_ tensors: [(String, Tensor)], to path: String, metadata: [MetadataEntry] = []) throws {
        let format = try XCTUnwrap(CheckpointWriters.format(forPath: path))
        let writer = try CheckpointWriters.make(format, path: path, force: false)
        try writer.begin(metadata: metadata, tensors: tensors.map { TensorSpec(name: $0.0, dtype: $0.1.dtype, shape: $0.1.shape) })
        for (name, t) in tensors { try t.withUnsafeBytes { try writer.write(name, $0) } }
        try writer.finish()
    }

    func testBitExactRoundTripInEveryFormat() throws {
        let all = try sampleTensors()
        for ext in ["safetensors", "gguf", "npz"] {
            let format = CheckpointWriters.format(forPath: "x." + ext)!
            let tensors = all.filter { CheckpointWriters.canStore($0.1.dtype, in: format) && !(format == .gguf && $0.1.shape.rank == 0) }
            let path = scratch.file("all." + ext)
            try write(tensors, to: path)
            let reader = try Checkpoint.open(path)
            XCTAssertEqual(reader.tensorNames, tensors.map(\.0), ext)
            for (name, t) in tensors {
                let back = try reader.tensor(name)
                XCTAssertEqual(back.dtype, t.dtype, "\(ext) \(name)")
                XCTAssertEqual(back.shape, t.shape, "\(ext) \(name)")
                XCTAssertEqual(back.byteArray, t.byteArray, "\(ext) \(name)")
            }
        }
    }

    func testConvertAcrossFormatsKeepsBits() throws {
        let tensors = try sampleTensors().filter { [.f32, .f16, .i8, .i32].contains($0.1.dtype) && $0.1.shape.rank > 0 }
        let source = scratch.file("source.safetensors")
        try write(tensors, to: source)
        var previous = source
        for ext in ["gguf", "npz", "safetensors"] {
            let reader = try Checkpoint.open(previous)
            let format = CheckpointWriters.format(forPath: "x." + ext)!
            let out = scratch.file("chain." + ext)
            let steps = try TensorConverter.plan(reader, to: format, dtype: .keep)
            try TensorConverter.run(reader, steps: steps, writer: try CheckpointWriters.make(format, path: out, force: false),
                                    metadata: TensorConverter.carriedMetadata(reader, to: format))
            previous = out
        }
        let final = try Checkpoint.open(previous)
        for (name, t) in tensors { XCTAssertEqual(try final.tensor(name).byteArray, t.byteArray, name) }
    }

    func testBF16IntoNpzIsWidenedExactly() throws {
        let values: [Float] = [1.5, -0.375, 3.0e38, 1.0e-30]
        let t = try values.withUnsafeBufferPointer { try ElementConversion.fromF32($0, as: .bf16, shape: [4]) }
        let source = scratch.file("b.safetensors")
        try write([("w", t)], to: source)
        let reader = try Checkpoint.open(source)
        let steps = try TensorConverter.plan(reader, to: .npz, dtype: .keep)
        XCTAssertEqual(steps[0].target.dtype, .f32)
        XCTAssertNotNil(steps[0].note)
        let out = scratch.file("b.npz")
        try TensorConverter.run(reader, steps: steps, writer: try NpzWriter(path: out, force: false), metadata: [])
        XCTAssertEqual(try NpzReader(path: out).tensor("w").floats(), try t.floats())
    }

    func testQ8_0OnlyIntoGGUFAndOnlyWholeBlocks() throws {
        let a = try Tensor(floats: (0..<64).map { Float($0) / 7 }, shape: [2, 32])
        let b = try Tensor(floats: [1, 2, 3], shape: [3])
        let source = scratch.file("q.safetensors")
        try write([("a", a), ("b", b)], to: source)
        let reader = try Checkpoint.open(source)
        XCTAssertThrowsError(try TensorConverter.plan(reader, to: .safetensors, dtype: .q8_0))
        let steps = try TensorConverter.plan(reader, to: .gguf, dtype: .q8_0)
        XCTAssertEqual(steps.map(\.target.dtype), [.q8_0, .f32])
    }

    /// Untrusted values reaching the writers: a safetensors key longer than a ZIP name can hold
    /// (the 16-bit length used to trap in UInt16(_:)), and a tensor of tiny floats quantized to Q8_0
    /// (1/d overflowed and Int(inf) trapped). Both convert cleanly or fail with a named error.
    func testHostileValuesIntoWriters() throws {
        let long = String(repeating: "w", count: 70_000)
        let source = scratch.file("long-name.safetensors")
        try write([(long, try Tensor(floats: [1, 2], shape: [2]))], to: source)
        let reader = try Checkpoint.open(source)
        XCTAssertEqual(reader.tensors.first?.name.utf8.count, 70_000)
        let out = scratch.file("long-name.npz")
        XCTAssertThrowsError(try TensorConverter.run(reader, steps: try TensorConverter.plan(reader, to: .npz, dtype: .keep),
                                                     writer: try NpzWriter(path: out, force: false), metadata: [])) { error in
            XCTAssertTrue("\(error)".contains("a .npz member name (with .npy) holds at most 65531"), "\(error)")
            XCTAssertTrue("\(error)".contains("long-name.npz"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))

        let subnormal = Float.leastNormalMagnitude / 100  // ~1.2e-40: d = amax / 127 is subnormal, 1 / d infinite
        let tiny = try Tensor(floats: [subnormal, -subnormal / 5] + [Float](repeating: 0, count: 30), shape: [1, 32])
        let tinySource = scratch.file("tiny.safetensors")
        try write([("t", tiny)], to: tinySource)
        let tinyReader = try Checkpoint.open(tinySource)
        let gguf = scratch.file("tiny.gguf")
        try TensorConverter.run(tinyReader, steps: try TensorConverter.plan(tinyReader, to: .gguf, dtype: .q8_0),
                                writer: try GGUFWriter(path: gguf, force: false), metadata: [])
        let q = try GGUFReader(path: gguf).tensor("t")
        XCTAssertEqual(q.dtype, .q8_0)
        XCTAssertEqual(q.byteArray, [UInt8](repeating: 0, count: 34))  // d narrows to f16 0: a zero block
    }

    /// A 45-byte GGUF with no tensors and general.alignment 2^31 is a valid file, but converting it
    /// to GGUF carried the alignment over and padded the header to 2 GiB (4 GB resident, 12 s; seen
    /// while auditing, and an out-of-memory finding of the convert fuzz target). The writer caps
    /// what it writes at 64 KiB.
    func testHugeCarriedAlignmentIsRefusedByTheWriter() throws {
        let input = Paths.root + "/fuzz/regressions/convert/gguf-alignment-2-to-31-no-tensors.gguf"
        let reader = try Checkpoint.open(input)
        XCTAssertEqual(reader.metadataValue("general.alignment"), .uint32(1 << 31), "the reader accepts it (a power of two)")
        let out = scratch.file("aligned.gguf")
        XCTAssertThrowsError(try TensorConverter.run(reader, steps: try TensorConverter.plan(reader, to: .gguf, dtype: .keep),
                                                     writer: try GGUFWriter(path: out, force: false),
                                                     metadata: TensorConverter.carriedMetadata(reader, to: .gguf))) { error in
            XCTAssertTrue("\(error)".contains("general.alignment 2147483648 is above the 65536 Zoo writes"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        // The largest alignment written still round-trips.
        let writer = try GGUFWriter(path: out, force: false)
        try writer.begin(metadata: [MetadataEntry("general.alignment", .uint32(1 << 16))], tensors: [TensorSpec(name: "t", dtype: .f32, shape: [2])])
        try [Float(1), 2].withUnsafeBytes { try writer.write("t", $0) }
        try writer.finish()
        let back = try GGUFReader(path: out)
        XCTAssertEqual(back.alignment, 1 << 16)
        XCTAssertEqual(try back.tensor("t").floats(), [1, 2])
    }

    func testExistingOutputIsRefusedAndUntouched() throws {
        let path = scratch.write("exists.safetensors", [1, 2, 3])
        XCTAssertThrowsError(try SafetensorsWriter(path: path, force: false)) { XCTAssertTrue("\($0)".contains("--force")) }
        XCTAssertEqual(Array(try Data(contentsOf: URL(fileURLWithPath: path))), [1, 2, 3])
        let writer = try SafetensorsWriter(path: path, force: true)
        try writer.begin(metadata: [], tensors: [])
        try writer.finish()
        XCTAssertNoThrow(try SafetensorsReader(path: path))
    }

    func testAbortedWriteLeavesNothing() throws {
        let path = scratch.file("aborted.gguf")
        do {
            let writer = try GGUFWriter(path: path, force: false)
            try writer.begin(metadata: [], tensors: [TensorSpec(name: "a", dtype: .f32, shape: [4])])
            // Dropped without finish: the temporary file must go away with it.
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter { $0.contains("zoo-tmp") }
        XCTAssertEqual(leftovers, [])
    }

    func testReferenceLibrariesReadZooFiles() throws {
        let tensors = try sampleTensors()
        let st = scratch.file("zoo.safetensors"), gg = scratch.file("zoo.gguf"), nz = scratch.file("zoo.npz"), np = scratch.file("zoo.npy")
        try write(tensors.filter { SafetensorsWriter.canStore($0.1.dtype) }, to: st, metadata: [MetadataEntry("note", .string("zoo ✓"))])
        try write(tensors.filter { GGUFWriter.canStore($0.1.dtype) && $0.1.shape.rank > 0 }, to: gg,
                  metadata: [MetadataEntry("general.architecture", .string("zoo")), MetadataEntry("zoo.count", .uint32(7)),
                             MetadataEntry("zoo.names", .array(.strings(["a", "bé"])))])
        try write(tensors.filter { NpzWriter.canStore($0.1.dtype) }, to: nz)
        try write([tensors[0]], to: np)
        // The script prints one line per tensor: name, dtype, shape, sha256 of the C-order bytes.
        let script = """
        import sys, hashlib, json, numpy as np
        from safetensors import safe_open
        import gguf
        st, gg, nz, np_path = sys.argv[1:5]
        out = {}
        try:
            import torch  # bf16 needs torch; without it bf16 tensors are left out
        except ImportError:
            torch = None
        with safe_open(st, framework="pt" if torch else "numpy") as f:
            assert f.metadata()["format"] == "pt" and f.metadata()["note"] == "zoo ✓", f.metadata()
            for k in f.keys():
                if torch:
                    t = f.get_tensor(k)
                    raw = t.view(torch.int16).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes()
                elif k == "bf16":
                    continue
                else:
                    raw = np.ascontiguousarray(f.get_tensor(k)).tobytes()
                out["st:" + k] = hashlib.sha256(raw).hexdigest()
        r = gguf.GGUFReader(gg)
        assert r.fields["zoo.count"].parts[-1][0] == 7
        names = r.fields["zoo.names"]
        assert [bytes(names.parts[i]).decode() for i in names.data] == ["a", "bé"]
        for t in r.tensors:
            out["gguf:" + t.name] = hashlib.sha256(np.ascontiguousarray(t.data).tobytes()).hexdigest()
        z = np.load(nz)
        for k in z.files:
            out["npz:" + k] = hashlib.sha256(np.ascontiguousarray(z[k]).tobytes()).hexdigest()
        a = np.load(np_path)
        out["npy"] = hashlib.sha256(a.tobytes()).hexdigest()
        print(json.dumps(out))
        """
        guard let (status, output) = runPython(script, arguments: [st, gg, nz, np], modules: ["numpy", "safetensors", "gguf"]) else {
            throw XCTSkip("python3 with numpy, safetensors and gguf is not available (scripts/install-deps.sh installs them)")
        }
        XCTAssertEqual(status, 0, output)
        let hashes = try JSON.parse(output.trimmingCharacters(in: .whitespacesAndNewlines))
        func sha(_ t: Tensor) -> String { t.withUnsafeBytes { SHA256.hex($0) } }
        for (name, t) in tensors {
            if SafetensorsWriter.canStore(t.dtype), let h = hashes["st:" + name]?.string { XCTAssertEqual(h, sha(t), "safetensors \(name)") }
            if SafetensorsWriter.canStore(t.dtype) && t.dtype != .bf16 { XCTAssertNotNil(hashes["st:" + name], "safetensors \(name) was read") }
            if GGUFWriter.canStore(t.dtype) && t.shape.rank > 0 { XCTAssertEqual(hashes["gguf:" + name]?.string, sha(t), "gguf \(name)") }
            if NpzWriter.canStore(t.dtype) { XCTAssertEqual(hashes["npz:" + name]?.string, sha(t), "npz \(name)") }
        }
        XCTAssertEqual(hashes["npy"]?.string, sha(tensors[0].1))
    }
}
