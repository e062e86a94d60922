import XCTest
import ZooFormats
import ZooKernels
import ZooModels
import ZooTensor

/// GPT-2's KV cache dtype: f16 by default when the linear layers run int8 (Q8_0), f32 otherwise,
/// overridable at load and per session; an f16 cache stays close to the transformers reference.
final class GPT2KVCacheTests: XCTestCase {
    static let path = GPT2FixtureTests.gpt2Fixtures + "/tiny-sharded"

    func testDefaultFollowsLinearLayersAndCanBeOverridden() throws {
        guard FileManager.default.fileExists(atPath: Self.path) else { throw XCTSkip("tiny-sharded not present") }
        XCTAssertEqual(try GPT2Loader.load(path: Self.path, mode: .q8_0).kvCache, .f16)
        XCTAssertEqual(try GPT2Loader.load(path: Self.path, mode: .f32).kvCache, .f32)
        XCTAssertEqual(try GPT2Loader.load(path: Self.path, mode: .q8_0w).kvCache, .f32, "q8_0w computes in f32")
        XCTAssertEqual(try GPT2Loader.load(path: Self.path).kvCache, .f32, "an f32 file in auto mode runs f32")
        let q8f32 = try GPT2Loader.load(path: Self.path, mode: .q8_0, kvCache: .f32)
        XCTAssertEqual(q8f32.kvCache, .f32)
        XCTAssertEqual(q8f32.makeSession().cache.dtype, .f32)
        let s16 = q8f32.makeSession(kvCache: .f16), s32 = q8f32.makeSession()
        XCTAssertEqual(s16.cache.dtype, .f16)
        let c = q8f32.config  // keys [C, keyStride] and values [capacity, C] per layer, 2 bytes vs 4
        XCTAssertEqual(s16.cache.bytes, c.layers * (s16.cache.keyStride + c.positions) * c.embedding * 2)
        XCTAssertEqual(s32.cache.bytes, c.layers * (s32.cache.keyStride + c.positions) * c.embedding * 4)
    }

    /// f32 weights with an f16 cache, against the fixture's transformers logits (top 10 of every
    /// position): only f16's rounding of K and V apart (unit roundoff 2^-11), so far inside Q8_0's
    /// 3e-2 but no longer bit-exact. Q8_0 with an f16 cache stays within the Q8_0 tolerance. (Q8_0
    /// with f16 vs f32 cache differ by about as much as Q8_0 differs from the reference, ~1.5e-2
    /// here: the activation quantizer rounds to 1/127 of a block's max, so any perturbation,
    /// however small, can move a quantum and the result by the quantization step.)
    func testF16CacheCloseToReference() throws {
        guard FileManager.default.fileExists(atPath: Self.path) else { throw XCTSkip("tiny-sharded not present") }
        let fixture = try NpzReader(path: Self.path + ".fixture.npz")
        // every prompt's logits, [T, V] each, concatenated
        func logits(_ model: GPT2Model, _ kv: KVCacheDType) throws -> [Float] {
            var all: [Float] = []
            var i = 0
            while fixture.info("input_ids_\(i)") != nil {
                let ids = try fixture.tensor("input_ids_\(i)").floats().map { Int($0) }
                let session = model.makeSession(kvCache: kv)
                try session.forward(ids, logits: .all)
                all += session.logits.prefix(ids.count * model.config.vocabulary)
                i += 1
            }
            return all
        }
        let f32 = try GPT2Loader.load(path: Self.path, mode: .f32), q8 = try GPT2Loader.load(path: Self.path, mode: .q8_0)
        let v = f32.config.vocabulary
        // the reference's top-10 logits of every position, and ours at the same ids
        var refTop: [Float] = [], topIndex: [Int] = [], offset = 0, i = 0
        while fixture.info("input_ids_\(i)") != nil {
            let t = try fixture.tensor("input_ids_\(i)").floats().count
            let top = try fixture.tensor("topk_ids_\(i)").floats().map { Int($0) }
            refTop += try fixture.tensor("topk_logits_\(i)").floats()
            topIndex += top.enumerated().map { offset + ($0.offset / (top.count / t)) * v + $0.element }
            offset += t * v
            i += 1
        }
        func againstRef(_ l: [Float]) -> Float { maxRelative(topIndex.map { l[$0] }, refTop) }
        let exact = againstRef(try logits(f32, .f32)), half = againstRef(try logits(f32, .f16))
        let q8Half = try logits(q8, .f16), q8Full = try logits(q8, .f32)
        let cacheEffect = maxRelative(q8Half, q8Full), q8Error = againstRef(q8Full)
        print("tiny-sharded logits max rel: f32 weights f32 KV \(exact), f32 weights f16 KV \(half); Q8_0 f16 KV vs f32 KV \(cacheEffect), Q8_0 (f32 KV) vs reference \(q8Error), Q8_0 f16 KV vs reference \(againstRef(q8Half))")
        XCTAssertLessThan(exact, 1e-4)
        XCTAssertGreaterThan(half, 0)
        XCTAssertLessThan(half, 2e-3)
        XCTAssertLessThan(againstRef(q8Half), GPT2Q8Tests.q8Tolerance)
        XCTAssertLessThan(againstRef(q8Half), 1.5 * q8Error, "an f16 cache should not make Q8_0 measurably worse")
    }
}
