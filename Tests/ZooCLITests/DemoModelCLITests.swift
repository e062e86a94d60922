import Foundation
import XCTest
import ZooTensor

/// The demo models that ship with the project: `zoo run` with no MODEL works on a fresh clone and
/// agrees with the PyTorch references committed beside them.
final class DemoModelCLITests: XCTestCase {
    let root = ZooCLI.root

    /// Greedy generation equals transformers' `generate(do_sample=False)` token for token.
    func testDemoGPT2GreedyGenerationEqualsTransformers() throws {
        let file = try MappedFile(path: root + "/fixtures/demo-gpt2/greedy_reference.json")
        let reference = try JSON.parse(file.bytes)
        let cases = try XCTUnwrap(reference["cases"]?.array)
        XCTAssertGreaterThanOrEqual(cases.count, 3)
        for c in cases {
            let prompt = try XCTUnwrap(c["prompt"]?.string)
            let want = try XCTUnwrap(c["generated_text"]?.string ?? c["text"]?.string)
            let count = try XCTUnwrap(c["generated_ids"]?.array?.count)
            let r = try ZooCLI.run(["run", "--prompt", prompt, "--max-tokens", String(count)])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(r.stdout.trimmingCharacters(in: .newlines), want.trimmingCharacters(in: .newlines), "prompt \(prompt.debugDescription)")
        }
    }

    /// Every committed digit, run as one batch with no MODEL: the top label and its probability
    /// are PyTorch's (fixtures/demo-vit/reference.json), including the two digits it gets wrong.
    func testDemoViTClassifiesTheCommittedDigitsAsPyTorchDoes() throws {
        let file = try MappedFile(path: root + "/fixtures/demo-vit/reference.json")
        let images = try XCTUnwrap(try JSON.parse(file.bytes)["images"]?.array)
        let paths = images.compactMap { $0["file"]?.string }.map { root + "/fixtures/demo-vit/" + $0 }
        let r = try ZooCLI.run(["run"] + paths.flatMap { ["--image", $0] } + ["--top", "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        // Output: per image, its path line then one "  probability  label" line.
        let lines = r.stdout.split(separator: "\n").map(String.init)
        for (k, image) in images.enumerated() {
            guard let at = lines.firstIndex(where: { $0.hasSuffix(paths[k]) }), at + 1 < lines.count else {
                XCTFail("no result for \(paths[k]) in:\n\(r.stdout)"); continue
            }
            let parts = lines[at + 1].split(separator: " ").map(String.init)
            XCTAssertEqual(parts.last, image["predicted"]?.int.map(String.init), paths[k])
            XCTAssertEqual(Double(parts.first ?? "") ?? -1, image["probability"]?.double ?? -2, accuracy: 1e-4, paths[k])
        }
    }
}
