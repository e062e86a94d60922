import XCTest
import ZooFormats
import ZooModels
import ZooTensor

/// An in-memory checkpoint: names -> tensors, for exercising the loader without files.
final class MemoryCheckpoint: CheckpointReader, @unchecked Sendable {
    let path = "memory.safetensors"
    let format = CheckpointFormat.safetensors
    let metadata: [MetadataEntry]
    let tensors: [TensorInfo]
    let store: [String: Tensor]

    init(_ items: [(String, Tensor)], metadata: [MetadataEntry] = []) {
        self.metadata = metadata
        tensors = items.map { TensorInfo(name: $0.0, dtype: $0.1.dtype, shape: $0.1.shape, byteCount: $0.1.bytes.count) }
        store = Dictionary(items, uniquingKeysWith: { a, _ in a })
    }

    func tensor(_ name: String) throws -> Tensor {
        guard let t = store[name] else { throw ZooError("no such tensor", path: path, tensor: name) }
        return t
    }
}

final class LoadingWeightLoaderTests: XCTestCase {
    // A two-layer toy convention: a Conv1D-style weight to transpose, fused q/k/v parts, a buffer to skip.
    let table = NamingTable(
        name: "toy",
        prefixes: ["model.", ""],
        rules: [
            TensorRule("emb", "embed", shape: ["V", "C"], quantizable: true),
            TensorRule("l{L}.w", "layers.{L}.w", shape: ["2*C", "C"], transform: .transpose),
            TensorRule("l{L}.qkv", "layers.{L}.q", "layers.{L}.k", "layers.{L}.v", shape: ["3*C", "C"], transform: .concatRows),
            TensorRule("cls", "cls_token", shape: ["C"], transform: .reshape, storedShape: [1, 1, "C"]),
            TensorRule("head", "head", shape: ["V", "C"], optional: true, prefixed: false),
        ],
        ignored: ["layers.{L}.mask"])
    let sizes = ["C": 2, "V": 3, "L": 2]

    func t(_ values: [Float], _ shape: Shape, _ dtype: DType = .f32) throws -> Tensor {
        try values.withUnsafeBufferPointer { try ElementConversion.fromF32($0, as: dtype, shape: shape) }
    }

    func goodCheckpoint(prefix: String = "model.") throws -> [(String, Tensor)] {
        var items: [(String, Tensor)] = [(prefix + "embed", try t([1, 2, 3, 4, 5, 6], [3, 2], .bf16))]
        for l in 0..<2 {
            let base = Float(10 * l)
            items.append((prefix + "layers.\(l).w", try t([0, 1, 2, 3, 4, 5, 6, 7].map { $0 + base }, [2, 4])))
            items.append((prefix + "layers.\(l).q", try t([1, 1, 1, 1], [2, 2])))
            items.append((prefix + "layers.\(l).k", try t([2, 2, 2, 2], [2, 2], .f16)))
            items.append((prefix + "layers.\(l).v", try t([3, 3, 3, 3], [2, 2])))
            items.append((prefix + "layers.\(l).mask", try t([1], [1])))
        }
        items.append((prefix + "cls_token", try t([7, 8], [1, 1, 2])))
        return items
    }

    func testLoadsConvertsAndTransforms() throws {
        let w = try WeightLoader.load(MemoryCheckpoint(try goodCheckpoint()), table: table, sizes: sizes)
        XCTAssertEqual(w.prefix, "model.")
        XCTAssertEqual(w.tensors["emb"], FloatTensor(shape: [3, 2], values: [1, 2, 3, 4, 5, 6]))
        XCTAssertEqual(w.sourceDTypes["emb"], .bf16)
        // [2, 4] stored -> [4, 2] model: column j of the stored matrix becomes row j.
        XCTAssertEqual(w.tensors["l1.w"], FloatTensor(shape: [4, 2], values: [10, 14, 11, 15, 12, 16, 13, 17]))
        XCTAssertEqual(w.tensors["l0.qkv"]?.values, [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3])
        XCTAssertEqual(w.tensors["cls"], FloatTensor(shape: [2], values: [7, 8]))
        XCTAssertNil(w.tensors["head"])
    }

    func testBareNamesAndUnprefixedOptionalHead() throws {
        var items = try goodCheckpoint(prefix: "")
        items.append(("head", try t([0, 0, 0, 0, 0, 0], [3, 2])))
        let w = try WeightLoader.load(MemoryCheckpoint(items), table: table, sizes: sizes)
        XCTAssertEqual(w.prefix, "")
        XCTAssertEqual(w.tensors["head"]?.shape, [3, 2])
    }

    func testReportsEveryProblemTogether() throws {
        var items = try goodCheckpoint().filter { $0.0 != "model.layers.1.k" && $0.0 != "model.cls_token" }
        items = items.map { $0.0 == "model.layers.0.w" ? ($0.0, try! t([0, 1, 2, 3, 4, 5, 6, 7], [4, 2])) : $0 }
        items.append(("model.extra", try t([1], [1])))
        let raw: [Int8] = [1, 2]
        items.append(("model.cls_token", try raw.withUnsafeBytes { try Tensor(dtype: .i8, shape: [1, 1, 2], copying: $0) }))
        XCTAssertThrowsError(try WeightLoader.load(MemoryCheckpoint(items), table: table, sizes: sizes)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("memory.safetensors"), text)
            XCTAssertTrue(text.contains("1 missing"), text)
            XCTAssertTrue(text.contains("model.layers.1.k (expected [2, 2]"), text)
            XCTAssertTrue(text.contains("model.layers.0.w: expected [2, 4], found [4, 2]"), text)
            XCTAssertTrue(text.contains("model.cls_token: I8"), text)
            XCTAssertTrue(text.contains("unexpected"), text)
            XCTAssertTrue(text.contains("model.extra"), text)
            XCTAssertFalse(text.contains("mask"), "buffers are ignored: \(text)")
        }
    }

    func testQuantizedOnlyWhereAllowed() throws {
        var items = try goodCheckpoint()
        let values = (0..<64).map { Float($0) / 10 }
        // A quantizable tensor may be Q8_0 (dequantized on load) ...
        let table2 = NamingTable(name: "q", rules: [TensorRule("m", "m", shape: [2, 32], quantizable: true),
                                                    TensorRule("n", "n", shape: [2, 32])])
        let q = try t(values, [2, 32], .q8_0)
        let ok = try WeightLoader.load(MemoryCheckpoint([("m", q), ("n", try t(values, [2, 32]))]), table: table2, sizes: [:])
        let got = ok.tensors["m"]?.values ?? []
        XCTAssertEqual(got.count, 64)
        for (a, b) in zip(got, values) { XCTAssertEqual(a, b, accuracy: 6.3 / 254 + 1e-3) /* half a Q8_0 step */ }
        // ... one that is not (a norm) is rejected.
        XCTAssertThrowsError(try WeightLoader.load(MemoryCheckpoint([("m", q), ("n", q)]), table: table2, sizes: [:])) { error in
            XCTAssertTrue("\(error)".contains("n: Q8_0"), "\(error)")
        }
        items.removeAll()
    }

    func testTableExpandsBothWays() throws {
        let rules = try table.expand(sizes: sizes, prefix: "model.")
        let qkv = rules.first { $0.field == "l1.qkv" }
        XCTAssertEqual(qkv?.checkpoint, ["model.layers.1.q", "model.layers.1.k", "model.layers.1.v"])
        XCTAssertEqual(qkv?.storedShape, [2, 2])
        XCTAssertEqual(rules.first { $0.field == "l0.w" }?.storedShape, [4, 2].reversed())
        XCTAssertEqual(rules.first { $0.field == "head" }?.checkpoint, ["head"])
    }
}
