import XCTest
import ZooFormats
import ZooKernels
import ZooModels
import ZooTensor

/// GPT-2 on CKernels' Q8_0 kernels: quantized at load from f32 fixtures, and kept as stored Q8_0
/// from a GGUF-named checkpoint. Tolerance is the fixtures' own q8_0 max_rel (3e-2).
final class GPT2Q8Tests: XCTestCase {
    /// The HF GPT-2 folder at `path` as a llama.cpp-named in-memory checkpoint whose matrices are
    /// stored Q8_0 (quantized by ZooTensor's Swift quantizer), everything else f32.
    static func storedQ8Checkpoint(_ path: String) throws -> (MemoryCheckpoint, GPT2Config) {
        let config = try GPT2Config.fromHF(configPath: path + "/config.json")
        let f32 = try WeightLoader.load(try Checkpoint.open(path), table: GPT2NamingTables.huggingFace, sizes: config.sizes)
        var items: [(String, Tensor)] = []
        for rule in try GPT2NamingTables.gguf.expand(sizes: config.sizes) {
            let field = rule.field == "lm_head.weight" ? "wte.weight" : rule.field  // GGUF's output = copy of wte
            let values = try f32.values(field)
            let dtype: DType = rule.quantizable ? .q8_0 : .f32
            items.append((rule.checkpoint[0], try values.withUnsafeBufferPointer {
                try ElementConversion.fromF32($0, as: dtype, shape: Shape(rule.storedShape))
            }))
        }
        return (MemoryCheckpoint(items), config)
    }

    static let fixtures = GPT2FixtureTests.gpt2Fixtures
    static let q8Tolerance: Float = 3e-2

    /// First prompt's logits (all positions) of `model` and the reference picked the same way.
    func compare(_ model: GPT2Model, fixture path: String, prompts: Int = 3) throws -> Float {
        let fixture = try NpzReader(path: path)
        let v = model.config.vocabulary
        var worst: Float = 0
        for i in 0..<prompts {
            let ids = try fixture.tensor("input_ids_\(i)").floats().map { Int($0) }
            let session = model.makeSession()
            try session.forward(ids, logits: .all)
            let got = Array(session.logits.prefix(ids.count * v))
            if fixture.info("logits_\(i)") != nil {
                worst = max(worst, maxRelative(got, try fixture.tensor("logits_\(i)").floats()))
            } else {
                let top = try fixture.tensor("topk_ids_\(i)").floats().map { Int($0) }
                let ref = try fixture.tensor("topk_logits_\(i)").floats()
                let k = top.count / ids.count
                worst = max(worst, maxRelative(top.enumerated().map { got[($0.offset / k) * v + $0.element] }, ref))
            }
        }
        return worst
    }

    func testQuantizedAtLoadStaysWithinQ8Tolerance() throws {
        for name in ["tiny-sharded", "tiny-bf16-bare"] {
            let path = Self.fixtures + "/" + name
            guard FileManager.default.fileExists(atPath: path) else { continue }
            let model = try GPT2Loader.load(path: path, mode: .q8_0)
            guard case .q8_0 = model.weights.blocks[0].fc.weight else { return XCTFail("\(name): fc is not Q8_0") }
            let rel = try compare(model, fixture: path + ".fixture.npz")
            print("\(name) in Q8_0: logits max rel error \(rel)")
            XCTAssertLessThan(rel, Self.q8Tolerance, name)
            XCTAssertGreaterThan(rel, 0, "\(name): Q8_0 should not be bit-identical to f32")
        }
    }

    /// A llama.cpp-named checkpoint whose matrices are stored Q8_0 runs them on the int8 kernels
    /// as stored, within the Q8_0 tolerance of the f32 reference.
    func testStoredQ8_0IsUsedAsStored() throws {
        let path = Self.fixtures + "/tiny-sharded"
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("tiny-sharded not present") }
        let (checkpoint, config) = try Self.storedQ8Checkpoint(path)
        let stored = try GPT2Loader.load(reader: checkpoint, config: config, table: GPT2NamingTables.gguf)
        guard case .q8_0 = stored.weights.blocks[1].qkv.weight, case .q8_0 = stored.weights.head.weight else {
            return XCTFail("stored Q8_0 matrices were not kept as Q8_0")
        }
        // The stored model also looks its embeddings up in the quantized wte (as llama.cpp does),
        // so it is not bit-identical to quantizing at load; both sit within the Q8_0 tolerance.
        let rel = try compare(stored, fixture: path + ".fixture.npz")
        print("tiny-sharded stored as Q8_0: logits max rel error \(rel)")
        XCTAssertLessThan(rel, Self.q8Tolerance)
        // f32 mode dequantizes the same file instead.
        let dequantized = try GPT2Loader.load(reader: checkpoint, config: config, table: GPT2NamingTables.gguf, mode: .f32)
        guard case .f32 = dequantized.weights.blocks[0].qkv.weight else { return XCTFail("f32 mode kept Q8_0") }
    }

    /// Decode steps on the Q8_0 path agree with its own batched prefill (GEMV vs GEMM kernels).
    func testQ8DecodeMatchesQ8Prefill() throws {
        let path = Self.fixtures + "/tiny-bf16-bare"
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("tiny-bf16-bare not present") }
        KernelThreads.configure(2)
        defer { KernelThreads.configure(1) }
        let model = try GPT2Loader.load(path: path, mode: .q8_0)
        let ids = [3, 141, 59, 26, 5, 358]
        let batched = model.makeSession(), stepwise = model.makeSession()
        try batched.forward(ids, logits: .all)
        let v = model.config.vocabulary
        for (t, id) in ids.enumerated() {
            try stepwise.forward([id], logits: .last)
            XCTAssertLessThan(maxRelative(Array(stepwise.logits.prefix(v)), Array(batched.logits[(t * v)..<((t + 1) * v)])), 1e-5)
        }
    }
}
