import Foundation
import XCTest
@testable import ZooFormats
@testable import ZooModels
import ZooTensor

/// The chunked, multi-threaded conversion writer against the whole-tensor reference path
/// (TableMapping.tensor: Swift reference codecs, WeightLoader's transpose), and the writer
/// bookkeeping it relies on.
final class ConversionChunkedTests: XCTestCase {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    func scratch(_ name: String) -> String {
        let dir = NSTemporaryDirectory() + "zoo-chunked-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir + "/" + name
    }

    /// Every tensor of a GPT-2 fixture (f32 and bf16 sources, Conv1D transposes, a tied output)
    /// written in tiny chunks and jobs on 1-3 threads must hold exactly the bytes the whole-tensor
    /// path produces, in every dtype.
    func testChunkedWritesMatchTheWholeTensorPathByteForByte() throws {
        for model in ["tiny-a", "tiny-bf16-bare"] {
            let source = try GPT2Source.resolve(root + "/fixtures/gpt2/" + model)
            let reader = try Checkpoint.open(source.weightsPath)
            let config = try GPT2Config.fromHF(configPath: source.configPath ?? "")
            for request in [DTypeRequest.keep, .f32, .f16, .bf16, .q8_0] {
                let plan = try TableMapping.plan(reader: reader, source: GPT2NamingTables.huggingFace, target: GPT2NamingTables.gguf,
                                                 sizes: config.sizes, fallbacks: ["lm_head.weight": "wte.weight"],
                                                 policy: GPT2Conversion.ggufPolicy(request))
                for (workers, chunk, job) in [(1, 40, 100), (3, 33, 70), (2, 1 << 17, 1 << 20)] {
                    let out = scratch("\(model)-\(request.rawValue).gguf")
                    let writer = try GGUFWriter(path: out, force: false)
                    try writer.begin(metadata: [], tensors: plan.map(\.target))
                    let result = try ChunkedConversion.write(plan, reader: reader, writer: writer, progress: nil,
                                                             workers: workers, chunkValues: chunk, jobValues: job)
                    try writer.finish()
                    XCTAssertEqual(result.bytes, try plan.reduce(0) { $0 + (try $1.target.byteCount()) })
                    let written = try GGUFReader(path: out)
                    for entry in plan {
                        let want = try TableMapping.tensor(entry, reader: reader).byteArray
                        XCTAssertEqual(try written.tensor(entry.target.name).byteArray, want,
                                       "\(model) \(request) \(entry.target.name) workers \(workers) chunk \(chunk)")
                    }
                    for (dtype, rel) in result.worst {
                        XCTAssertLessThanOrEqual(rel, TableMapping.limit(dtype), "\(model) \(request) \(dtype)")
                    }
                }
            }
        }
    }

    /// transposeRows (4x4 register tiles plus edges) against WeightLoader.transpose on shapes
    /// that are not multiples of 4, for row ranges that start and end mid-tile.
    func testTransposeRowsMatchesTheReferenceTranspose() {
        for (a, b) in [(1, 1), (3, 5), (4, 4), (7, 13), (36, 9), (17, 64)] {
            let src = (0..<(a * b)).map { Float($0) * 0.5 - 3 }
            let full = WeightLoader.transpose(src, rows: a, cols: b)  // [b, a]
            for rows in [0..<b, (b / 3)..<(b - b / 4), (b - 1)..<b] where !rows.isEmpty {
                var dst = [Float](repeating: .nan, count: rows.count * a)
                src.withUnsafeBufferPointer { s in
                    dst.withUnsafeMutableBufferPointer { d in
                        ChunkedConversion.transposeRows(s.baseAddress!, a: a, b: b, rows: rows, into: d.baseAddress!)
                    }
                }
                XCTAssertEqual(dst, Array(full[(rows.lowerBound * a)..<(rows.upperBound * a)]), "a \(a) b \(b) rows \(rows)")
            }
        }
    }

    /// The fused Q8_0 check computes what dequantizing with the reference codec and taking the
    /// maxima element by element gives.
    func testFusedQ8CheckMatchesDequantizeThenCompare() throws {
        var rng = SystemRandomNumberGenerator()
        let n = 32 * 37
        let values = (0..<n).map { i in i % 97 == 0 ? 0 : Float.random(in: -3...3, using: &rng) * (i % 5 == 0 ? 100 : 1) }
        let q = try values.withUnsafeBufferPointer { try ElementConversion.fromF32($0, as: .q8_0, shape: Shape([n])) }
        let back = try q.floats()
        var wantDiff: Float = 0, wantRef: Float = 0
        for i in 0..<n { wantDiff = max(wantDiff, abs(back[i] - values[i])); wantRef = max(wantRef, abs(values[i])) }
        var d: Float = 0, r: Float = 0
        q.withUnsafeBytes { raw in values.withUnsafeBufferPointer { ChunkedConversion.accumulateQ8_0(raw.baseAddress!, $0.baseAddress!, n / 32, &d, &r) } }
        XCTAssertEqual(d, wantDiff)
        XCTAssertEqual(r, wantRef)
        XCTAssertGreaterThan(d, 0)
    }

    /// Positioned writes: each byte exactly once, only written bytes read back, and a file with a
    /// gap is refused and leaves nothing behind.
    func testPositionedWritesAreCheckedAndIncompleteFilesRefused() throws {
        let out = scratch("parts.gguf")
        let specs = [TensorSpec(name: "a", dtype: .f32, shape: [10]), TensorSpec(name: "b", dtype: .f32, shape: [3])]
        var writer: GGUFWriter? = try GGUFWriter(path: out, force: false)
        try writer!.begin(metadata: [MetadataEntry("k", .string("abc"))], tensors: specs)
        let bytes = (0..<40).map { UInt8($0) }
        try bytes.withUnsafeBytes { raw in
            try writer!.write("a", at: 8, UnsafeRawBufferPointer(rebasing: raw[8..<20]))
            XCTAssertThrowsError(try writer!.write("a", at: 16, UnsafeRawBufferPointer(rebasing: raw[16..<24])), "overlap")
            XCTAssertThrowsError(try writer!.write("b", at: 8, UnsafeRawBufferPointer(rebasing: raw[0..<8])), "past the end")
            var back = [UInt8](repeating: 0, count: 4)
            try back.withUnsafeMutableBytes { try writer!.readBack("a", offset: 12, into: $0) }
            XCTAssertEqual(back, [12, 13, 14, 15])
            XCTAssertThrowsError(try back.withUnsafeMutableBytes { try writer!.readBack("a", offset: 0, into: $0) }, "not written yet")
            try writer!.write("a", at: 0, UnsafeRawBufferPointer(rebasing: raw[0..<8]))
            try writer!.write("a", at: 20, UnsafeRawBufferPointer(rebasing: raw[20..<40]))
        }
        XCTAssertThrowsError(try writer!.finish(), "tensor b was never written")
        writer = nil
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: (out as NSString).deletingLastPathComponent), [])
    }

    /// A metadata value patched after the data keeps the header's size; another size is refused.
    func testMetadataReplacedInPlace() throws {
        let out = scratch("meta.gguf")
        let writer = try GGUFWriter(path: out, force: false)
        try writer.begin(metadata: [MetadataEntry("zoo.source.files", .array(.strings(["x " + String(repeating: "0", count: 64)])))],
                         tensors: [TensorSpec(name: "t", dtype: .f32, shape: [2])])
        XCTAssertThrowsError(try writer.replaceMetadata(MetadataEntry("zoo.source.files", .array(.strings(["x 1"])))))
        let digest = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        try writer.replaceMetadata(MetadataEntry("zoo.source.files", .array(.strings(["x " + digest]))))
        try [Float(1), 2].withUnsafeBytes { try writer.write("t", at: 0, $0) }
        try writer.finish()
        let back = try GGUFReader(path: out)
        XCTAssertEqual(back.metadataValue("zoo.source.files"), .array(.strings(["x " + digest])))
        XCTAssertEqual(try back.tensor("t").floats(), [1, 2])
    }

    /// SHA-256 of a file read in 1 MiB pieces: the FIPS 180-2 "abc" vector, and a file larger
    /// than one read against hashing the same bytes in one call.
    func testFileHashKnownAnswerAndLongFile() throws {
        let small = scratch("abc.txt")
        try Data("abc".utf8).write(to: URL(fileURLWithPath: small))
        XCTAssertEqual(try SHA256.hex(file: small), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let big = scratch("big.bin")
        let bytes = (0..<((1 << 20) * 2 + 12345)).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 7) }
        try Data(bytes).write(to: URL(fileURLWithPath: big))
        XCTAssertEqual(try SHA256.hex(file: big), bytes.withUnsafeBytes { SHA256.hex($0) })
        XCTAssertThrowsError(try SHA256.hex(file: big, stop: { true }))
    }
}
