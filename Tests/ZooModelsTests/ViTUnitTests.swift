import Foundation
import ZooFormats
import XCTest
import ZooKernels
import ZooTensor
@testable import ZooModels

/// The ViT's own pieces against closed forms and ZooKernels' double-precision references.
final class ViTUnitTests: XCTestCase {
    /// Deterministic pseudo-random values in [-1, 1).
    func values(_ n: Int, seed: UInt64) -> [Float] {
        var s = seed &* 6364136223846793005 &+ 1442695040888963407
        return (0..<n).map { _ in
            s = s &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: s >> 11) % 2_000_000) / 1_000_000 - 1
        }
    }

    /// ViT-shaped attention (non-causal, q | k | v side by side in one [N, 3C] buffer) through
    /// ZooKernels against the double-precision reference.
    func testAttentionMatchesReference() {
        for (n, heads, d) in [(23, 3, 16), (197, 2, 64), (37, 5, 12)] {
            let c = heads * d
            let qkv = values(n * 3 * c, seed: UInt64(n * d)).map { $0 * 3 }
            var out = [Float](repeating: 0, count: n * c)
            var scratch = [Float](repeating: 0, count: multiHeadAttentionScratch(queries: n, keys: n, heads: heads, headDim: d))
            qkv.withUnsafeBufferPointer { q in
                out.withUnsafeMutableBufferPointer { o in
                    scratch.withUnsafeMutableBufferPointer { s in
                        let base = q.baseAddress!
                        multiHeadAttention(q: base, ldq: 3 * c, k: base + c, ldk: 3 * c, v: base + 2 * c, ldv: 3 * c,
                                           queries: n, keys: n, heads: heads, headDim: d, causal: false,
                                           scratch: s.baseAddress!, into: o.baseAddress!, ldo: c)
                    }
                }
            }
            var q = [Float](), k = [Float](), v = [Float]()
            for t in 0..<n {
                let row = t * 3 * c
                q += qkv[row..<(row + c)]; k += qkv[(row + c)..<(row + 2 * c)]; v += qkv[(row + 2 * c)..<(row + 3 * c)]
            }
            let want = multiHeadAttentionReference(q: q, k: k, v: v, queries: n, keys: n, heads: heads, headDim: d,
                                                   causal: false)
            // Values up to 3, 64-term f32 dot products: a few f32 ulps of the outputs.
            XCTAssertLessThan(ImageTestSupport.maxAbsDiff(out, want), 1e-5, "n \(n) heads \(heads) d \(d)")
        }
    }

    /// 1 channel, 4x4 image, patch 2: patch p holds the 2x2 block at grid (p / 2, p % 2), row-major.
    func testPatchOrder() throws {
        let image = (0..<16).map { Float($0) }
        let cols = try ViTPatches.im2col(image, batch: 1, channels: 1, height: 4, width: 4, patch: 2)
        XCTAssertEqual(cols, [0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15])
        XCTAssertThrowsError(try ViTPatches.im2col(image, batch: 1, channels: 1, height: 4, width: 4, patch: 3))
    }

    func testPatchSizeMustDivideImageSize() throws {
        let json = try JSON.parse("""
        {"model_type": "vit", "image_size": 40, "patch_size": 7, "hidden_size": 48, "num_hidden_layers": 1,
         "num_attention_heads": 3, "intermediate_size": 64, "id2label": {"0": "a", "1": "b"}}
        """)
        XCTAssertThrowsError(try ViTConfig.fromHuggingFace(json, path: "config.json")) { error in
            XCTAssertTrue("\(error)".contains("patch size 7 does not divide the image size 40x40"), "\(error)")
            XCTAssertTrue("\(error)".contains("config.json"), "\(error)")
        }
        let heads = try JSON.parse(#"{"model_type": "vit", "hidden_size": 48, "num_attention_heads": 5}"#)
        XCTAssertThrowsError(try ViTConfig.fromHuggingFace(heads, path: "c.json")) { error in
            XCTAssertTrue("\(error)".contains("5 attention heads do not divide the hidden size 48"), "\(error)")
        }
    }

    /// Loading a checkpoint against the wrong convention lists every problem at once.
    func testWrongConventionReportsAllProblems() throws {
        let folder = ImageTestSupport.root + "/fixtures/vit/timm-tiny"
        try XCTSkipUnless(ImageTestSupport.exists(folder))
        let reader = try Checkpoint.open(folder)
        var config = try ViTConfig.fromTimmShapes(reader)
        config.convention = .huggingFace
        XCTAssertThrowsError(try WeightLoader.load(reader, table: ViTNamingTables.huggingFace, sizes: config.tableSizes)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("missing"), text)
            XCTAssertTrue(text.contains("vit.embeddings.cls_token"), text)
            XCTAssertTrue(text.contains("unexpected"), text)
            XCTAssertTrue(text.contains("blocks.1.attn.qkv.weight"), text)
        }
    }

    func testTimmShapeInference() throws {
        let folder = ImageTestSupport.root + "/fixtures/vit/timm-noconfig"
        try XCTSkipUnless(ImageTestSupport.exists(folder))
        let config = try ViTConfig.fromTimmShapes(try Checkpoint.open(folder))
        // fixtures/vit/manifest.json: img_size 32, patch 8, embed 128, depth 1, heads 2, mlp 256, 3 classes.
        XCTAssertEqual(config.imageHeight, 32)
        XCTAssertEqual(config.patchSize, 8)
        XCTAssertEqual(config.hiddenSize, 128)
        XCTAssertEqual(config.numLayers, 1)
        XCTAssertEqual(config.numHeads, 2)
        XCTAssertEqual(config.intermediateSize, 256)
        XCTAssertEqual(config.labels.count, 3)
        XCTAssertEqual(config.layerNormEps, 1e-6)
    }
}
