import XCTest
import ZooFormats
import ZooKernels
import ZooModels
import ZooTensor

/// GPT-2 in q8_0w mode (Q8_0 weights, f32 activations) on the demo model. For M >= 2 rows the
/// contract of zoo_q8_0w_matmul is "zoo_f32_matmul on the dequantized weights", so a q8_0w prefill
/// must give the bits of an f32 model whose weights were dequantized elsewhere: here by ZooTensor's
/// Q8_0 -> f32 conversion at load, run through the f32 kernels on those f32 arrays. A decode step
/// (M == 1) sums in its own order (scale applied per block), so it agrees to rounding.
final class GPT2Q8WeightOnlyTests: XCTestCase {
    static let demo = GPT2FixtureTests.repoRoot + "/fixtures/demo-gpt2"

    /// The demo GPT-2 with its matrices stored Q8_0, everything else f32.
    private func storedQ8Checkpoint() throws -> (MemoryCheckpoint, GPT2Config) {
        try GPT2Q8Tests.storedQ8Checkpoint(Self.demo)
    }

    func testMatchesF32OnTheDequantizedWeights() throws {
        KernelThreads.configure(2)
        defer { KernelThreads.configure(1) }
        let (checkpoint, config) = try storedQ8Checkpoint()
        let q8w = try GPT2Loader.load(reader: checkpoint, config: config, table: GPT2NamingTables.gguf, mode: .q8_0w)
        let f32 = try GPT2Loader.load(reader: checkpoint, config: config, table: GPT2NamingTables.gguf, mode: .f32)
        guard case .q8_0WeightOnly = q8w.weights.blocks[0].fc.weight, case .q8_0WeightOnly = q8w.weights.head.weight else {
            return XCTFail("q8_0w mode did not keep the stored Q8_0 matrices for the f32-activation kernels")
        }
        guard case .f32 = f32.weights.blocks[0].fc.weight else { return XCTFail("f32 mode kept Q8_0") }
        XCTAssertEqual(q8w.weights.linearFormSummary, "q8_0w")

        let v = config.vocabulary
        let ids = [464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13, 198, 464, 3290]
            .map { $0 % v }  // a short prompt, in the demo's vocabulary
        // prefill (M = 13: the GEMM path), all positions
        let a = q8w.makeSession(), b = f32.makeSession()
        try a.forward(ids, logits: .all)
        try b.forward(ids, logits: .all)
        let prefillA = Array(a.logits.prefix(ids.count * v)), prefillB = Array(b.logits.prefix(ids.count * v))
        XCTAssertTrue(prefillA.map(\.bitPattern) == prefillB.map(\.bitPattern), "prefill logits differ from f32 on the dequantized weights")
        // a 2-token prompt (M = 2 everywhere, the head too with .all: the small-M GEMV path) is
        // bit-identical too; decode steps (M = 1, the streaming GEMV in its own order) agree to
        // rounding (max rel 5.2e-7 measured)
        let c = q8w.makeSession(), d = f32.makeSession()
        try c.forward(Array(ids.prefix(2)), logits: .all)
        try d.forward(Array(ids.prefix(2)), logits: .all)
        XCTAssertTrue(Array(c.logits.prefix(2 * v)).map(\.bitPattern) == Array(d.logits.prefix(2 * v)).map(\.bitPattern), "2-token prompt")
        var worst: Float = 0
        for id in ids.dropFirst(2) {
            try c.forward([id], logits: .last)
            try d.forward([id], logits: .last)
            let rel = maxRelative(Array(c.logits.prefix(v)), Array(d.logits.prefix(v)))
            worst = max(worst, rel)
            XCTAssertLessThan(rel, 1e-5, "decode step \(id)")
        }
        print("demo-gpt2 q8_0w decode vs f32 on the dequantized weights: max rel \(worst)")
        // and not trivially so: the same checkpoint on the int8-activation kernels differs
        let q8 = try GPT2Loader.load(reader: checkpoint, config: config, table: GPT2NamingTables.gguf, mode: .q8_0)
        let e = q8.makeSession()
        try e.forward(ids, logits: .all)
        XCTAssertNotEqual(Array(e.logits.prefix(ids.count * v)), prefillB)
    }

    /// Quantized at load from the f32 safetensors: within the fixture's q8_0 tolerance of the
    /// transformers reference, and closer to it than the int8-activation mode (one rounding fewer).
    func testQuantizedAtLoadIsCloserThanQ8_0() throws {
        let fixture = try NpzReader(path: Self.demo + "/demo-gpt2.fixture.npz")
        var errors: [WeightMode: Float] = [:]
        for mode in [WeightMode.q8_0, .q8_0w] {
            let model = try GPT2Loader.load(path: Self.demo, mode: mode)
            let v = model.config.vocabulary
            var worst: Float = 0
            for i in 0..<3 {  // the fixture's three prompts
                let ids = try fixture.tensor("input_ids_\(i)").floats().map { Int($0) }
                let session = model.makeSession()
                try session.forward(ids, logits: .all)
                worst = max(worst, maxRelative(Array(session.logits.prefix(ids.count * v)), try fixture.tensor("logits_\(i)").floats()))
            }
            errors[mode] = worst
        }
        let q8 = errors[.q8_0] ?? .infinity, q8w = errors[.q8_0w] ?? .infinity
        print("demo-gpt2 logits max rel error: q8_0 \(q8), q8_0w \(q8w)")
        XCTAssertLessThan(q8w, 3e-2)
        XCTAssertLessThan(q8w, q8)
        XCTAssertGreaterThan(q8w, 0)
    }
}
