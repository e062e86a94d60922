import Foundation
import XCTest
import ZooFormats
import ZooModels
import ZooTensor

/// Logits and per-layer hidden states of every committed GPT-2 fixture (made with transformers,
/// see fixtures/make_fixture.py) against the Swift forward pass.
final class GPT2FixtureTests: XCTestCase {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let gpt2Fixtures = repoRoot + "/fixtures/gpt2"

    /// model path, fixture path (the GGUF shares tiny-a's reference outputs)
    static let cases: [(String, String)] = [
        ("tiny-a", "tiny-a.fixture.npz"),
        ("tiny-sharded", "tiny-sharded.fixture.npz"),
        ("tiny-bf16-bare", "tiny-bf16-bare.fixture.npz"),
        ("tiny-a.gguf", "tiny-a.fixture.npz"),
    ]

    func testEveryFixtureMatchesWithinTolerance() throws {
        var checked = 0
        for (model, fixture) in Self.cases {
            let modelPath = Self.gpt2Fixtures + "/" + model
            let fixturePath = Self.gpt2Fixtures + "/" + fixture
            guard FileManager.default.fileExists(atPath: modelPath), FileManager.default.fileExists(atPath: fixturePath) else {
                print("skipping \(model): fixture not present yet")
                continue
            }
            try check(modelPath: modelPath, fixturePath: fixturePath)
            checked += 1
        }
        XCTAssertGreaterThan(checked, 0, "no GPT-2 fixture found under \(Self.gpt2Fixtures)")
    }

    func check(modelPath: String, fixturePath: String) throws {
        let model = try GPT2Loader.load(path: modelPath)
        let fixture = try NpzReader(path: fixturePath)
        let config = model.config
        var i = 0
        var worst: Float = 0
        defer { print("\(modelPath): \(i) prompts, worst logits max rel error \(worst)") }
        while fixture.info("input_ids_\(i)") != nil {
            let ids = try fixture.tensor("input_ids_\(i)").floats().map { Int($0) }
            let session = model.makeSession()
            try session.forward(ids, logits: .all, captureHidden: true)
            XCTAssertEqual(session.logitRows, ids.count)
            let v = config.vocabulary
            let got = Array(session.logits.prefix(ids.count * v))
            if fixture.info("logits_\(i)") != nil {
                let rel = maxRelative(got, try fixture.tensor("logits_\(i)").floats())
                worst = max(worst, rel)
                XCTAssertLessThan(rel, 1e-4, "\(modelPath) prompt \(i): logits max rel error \(rel)")
            } else {
                // Large-vocabulary form: the reference's top-k logits and each row's logsumexp.
                let topIds = try fixture.tensor("topk_ids_\(i)").floats().map { Int($0) }
                let topLogits = try fixture.tensor("topk_logits_\(i)").floats()
                let k = topIds.count / ids.count
                let picked = topIds.enumerated().map { got[($0.offset / k) * v + $0.element] }
                let rel = maxRelative(picked, topLogits)
                worst = max(worst, rel)
                XCTAssertLessThan(rel, 1e-4, "\(modelPath) prompt \(i): top-\(k) logits max rel error \(rel)")
                let lse = try fixture.tensor("logsumexp_\(i)").floats()
                let mine = (0..<ids.count).map { t -> Float in
                    let row = got[(t * v)..<((t + 1) * v)]
                    let m = row.max() ?? 0
                    return m + Float(log(row.reduce(0.0) { $0 + exp(Double($1 - m)) }))
                }
                XCTAssertLessThan(maxRelative(mine, lse), 1e-4, "\(modelPath) prompt \(i): logsumexp")
            }
            if fixture.info("hidden_states_\(i)") != nil {
                let hs = try fixture.tensor("hidden_states_\(i)").floats()
                for l in 0..<config.layers {
                    let n = ids.count * config.embedding
                    let r = maxRelative(Array(session.hiddenStates[(l * n)..<((l + 1) * n)]), Array(hs[(l * n)..<((l + 1) * n)]))
                    XCTAssertLessThan(r, 1e-4, "\(modelPath) prompt \(i) layer \(l): hidden max rel error \(r)")
                }
            }
            i += 1
        }
        XCTAssertGreaterThan(i, 0, "\(fixturePath) holds no prompts")
    }

    /// The same logits when the prompt is fed in one batch or one token at a time through the cache.
    func testIncrementalDecodeMatchesBatchedPrefill() throws {
        let path = Self.gpt2Fixtures + "/tiny-a"
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("tiny-a not present") }
        let model = try GPT2Loader.load(path: path)
        let ids = [5, 17, 300, 2, 99, 450, 7]
        let batched = model.makeSession()
        try batched.forward(ids, logits: .all)
        let stepwise = model.makeSession()
        let v = model.config.vocabulary
        for (t, id) in ids.enumerated() {
            try stepwise.forward([id], logits: .last)
            let rel = maxRelative(Array(stepwise.logits.prefix(v)), Array(batched.logits[(t * v)..<((t + 1) * v)]))
            XCTAssertLessThan(rel, 1e-5, "position \(t)")
        }
    }
}

/// max|a - b| / max|b|
func maxRelative(_ a: [Float], _ b: [Float]) -> Float {
    guard a.count == b.count else { return .infinity }
    var diff: Float = 0, scale: Float = 0
    for (x, y) in zip(a, b) {
        diff = max(diff, abs(x - y))
        scale = max(scale, abs(y))
    }
    return scale > 0 ? diff / scale : diff
}
