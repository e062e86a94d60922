import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
import ZooFormats
import ZooTensor

/// `zoo verify` passes on the committed fixtures and fails, saying where, when something is off.
final class VerifyCLITests: XCTestCase {
    let root = ZooCLI.root

    func testEveryCommittedFixturePassesInEveryDType() throws {
        let s = Scratch()
        let junit = s.file("verify.xml")
        let r = try ZooCLI.run(["verify", "--fixtures", root + "/fixtures", "--dtype", "f32", "--dtype", "q8_0", "--dtype", "q8_0w", "--junit", junit])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertFalse(r.stdout.contains("FAIL"), r.stdout)
        let parser = XMLParser(data: try Data(contentsOf: URL(fileURLWithPath: junit)))
        XCTAssertTrue(parser.parse(), "JUnit output is well-formed XML")
    }

    /// Copies a fixture with one member replaced.
    func copyFixture(_ source: String, to path: String, change: (String, Tensor) throws -> Tensor) throws {
        let reader = try NpzReader(path: source)
        let tensors = try reader.tensorNames.map { ($0, try change($0, try reader.tensor($0))) }
        let writer = try NpzWriter(path: path, force: true)
        try writer.begin(metadata: [], tensors: tensors.map { TensorSpec(name: $0.0, dtype: $0.1.dtype, shape: $0.1.shape) })
        for (name, t) in tensors { try t.withUnsafeBytes { try writer.write(name, $0) } }
        try writer.finish()
    }

    func testOneLogitMovedByOnePercentFails() throws {
        let s = Scratch()
        let moved = s.file("moved.fixture.npz")
        // Prompt 2, position 3, the largest logit of that row, scaled by 1.01.
        var target = (position: 0, index: 0)
        try copyFixture(root + "/fixtures/gpt2/tiny-a.fixture.npz", to: moved) { name, t in
            guard name == "logits_2" else { return t }
            var v = try t.floats()
            let width = t.shape.dims[1]
            let row = Array(v[(3 * width)..<(4 * width)])
            let column = row.indices.max(by: { abs(row[$0]) < abs(row[$1]) }) ?? 0
            target = (3, column)
            v[3 * width + column] *= 1.01
            return try Tensor(floats: v, shape: t.shape)
        }
        let r = try ZooCLI.run(["verify", root + "/fixtures/gpt2/tiny-a", moved])
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("FAIL"), r.stdout)
        XCTAssertTrue(r.stdout.contains("prompt 2: max_rel"), r.stdout)
        XCTAssertTrue(r.stdout.contains("position \(target.position), index \(target.index)"), r.stdout)
        let json = try ZooCLI.run(["verify", root + "/fixtures/gpt2/tiny-a", moved, "--json"])
        XCTAssertEqual(json.status, 1)
        let report = try JSON.parse(json.stdout)
        XCTAssertEqual(report["passed"], .bool(false))
        let failing = report["results"]?.array?.first?["outputs"]?.array?.first { $0["passed"] == .bool(false) }
        XCTAssertEqual(failing?["name"]?.string, "prompt 2")
        XCTAssertEqual(failing?["worst"]?["position"]?.int, target.position)
    }

    func testPerturbedLayerIsNamedAsTheFirstDivergence() throws {
        let s = Scratch()
        let folder = s.file("perturbed")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for f in ["config.json", "vocab.json", "merges.txt"] {
            try FileManager.default.copyItem(atPath: root + "/fixtures/gpt2/tiny-sharded/" + f, toPath: folder + "/" + f)
        }
        let source = try Checkpoint.open(root + "/fixtures/gpt2/tiny-sharded")
        let writer = try SafetensorsWriter(path: folder + "/model.safetensors", force: false)
        try writer.begin(metadata: [], tensors: source.tensors.map { TensorSpec(name: $0.name, dtype: $0.dtype, shape: $0.shape) })
        for info in source.tensors {
            var t = try source.tensor(info.name)
            if info.name == "transformer.h.1.mlp.c_fc.weight" {
                t = try Tensor(floats: try t.floats().map { $0 * 1.05 }, shape: t.shape)
            }
            try t.withUnsafeBytes { try writer.write(info.name, $0) }
        }
        try writer.finish()
        let r = try ZooCLI.run(["verify", folder, root + "/fixtures/gpt2/tiny-sharded.fixture.npz"])
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("first divergent block: layer 1"), r.stdout)
    }

    func testFixtureForAnotherModelIsAClearError() throws {
        var r = try ZooCLI.run(["verify", root + "/fixtures/gpt2/tiny-a", root + "/fixtures/gpt2/tiny-sharded.fixture.npz"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("another model"), r.stderr)
        XCTAssertFalse(r.stderr.contains("Fatal error"), r.stderr)
        r = try ZooCLI.run(["verify", root + "/fixtures/gpt2/tiny-a", root + "/fixtures/vit/hf-tiny.fixture.npz"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("image") || r.stderr.contains("ViT") || r.stderr.contains("vit"), r.stderr)
        r = try ZooCLI.run(["verify", root + "/fixtures/gpt2/tiny-a", root + "/formats/golden/stored.npz"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("not a Zoo fixture"), r.stderr)
    }

    func testAgainstReportsKLTop1AndPerplexity() throws {
        let r = try ZooCLI.run(["verify", root + "/fixtures/gpt2/tiny-sharded", "--against", root + "/fixtures/gpt2/tiny-sharded",
                                "--dtype", "f32", "--against-dtype", "q8_0", "--text", root + "/fixtures/tokenizer/make_tokenizer_cases.py",
                                "--max-tokens", "400", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try JSON.parse(r.stdout)
        let kl = try XCTUnwrap(j["mean_kl"]?.double), top1 = try XCTUnwrap(j["top1"]?.double)
        XCTAssertGreaterThan(kl, 0, "Q8_0 differs from f32")
        XCTAssertLessThan(kl, 0.05)
        XCTAssertGreaterThan(top1, 0.8)
        XCTAssertGreaterThan(j["perplexity"]?["model"]?.double ?? 0, 1)
        XCTAssertEqual(j["positions"]?.int, 400 - 1 - (400 - 1) / 48, "windows of 48 tokens: each predicts 47 next tokens")
    }
}
