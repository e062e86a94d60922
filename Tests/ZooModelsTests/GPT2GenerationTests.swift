import XCTest
import ZooModels
import ZooTensor

final class GPT2GenerationTests: XCTestCase {
    func model() throws -> GPT2Model {
        let path = GPT2FixtureTests.gpt2Fixtures + "/tiny-a"
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("tiny-a not present") }
        return try GPT2Loader.load(path: path)
    }

    /// Greedy generation through the KV cache picks, at every step, the argmax of a fresh
    /// full-sequence forward pass (no cache) over the prompt and the tokens so far.
    func testGreedyGenerationMatchesRecomputation() throws {
        let gpt2 = try model()
        let prompt = [39, 68, 332, 78]
        var generated: [Int] = []
        var dumped: [Float] = []
        let stats = try TextGenerator.generate(model: gpt2, prompt: prompt, maxTokens: 6, sampling: SamplingSettings(),
                                               stopToken: nil, promptLogits: { values, rows in
                                                   XCTAssertEqual(rows, prompt.count)
                                                   dumped = Array(values)
                                               }, onToken: { generated.append($0) })
        XCTAssertEqual(stats.generatedTokens, 6)
        XCTAssertEqual(generated.count, 6)
        let v = gpt2.config.vocabulary
        var sequence = prompt
        for next in generated {
            let fresh = gpt2.makeSession()
            try fresh.forward(sequence, logits: .all)
            let last = Array(fresh.logits[((sequence.count - 1) * v)..<(sequence.count * v)])
            XCTAssertEqual(last.withUnsafeBufferPointer { Sampler.argmax($0) }, next)
            if sequence.count == prompt.count {
                XCTAssertLessThan(maxRelative(dumped, Array(fresh.logits.prefix(prompt.count * v))), 1e-6)
            }
            sequence.append(next)
        }
    }

    func testStopsAtEndOfTextAndRejectsBadPrompts() throws {
        let gpt2 = try model()
        // Whatever greedy picks first, declaring it the stop token ends generation before any output.
        let first = gpt2.makeSession()
        try first.forward([5, 6], logits: .last)
        let stop = first.logits.withUnsafeBufferPointer { Sampler.argmax(UnsafeBufferPointer(rebasing: $0[0..<gpt2.config.vocabulary])) }
        var out: [Int] = []
        let stats = try TextGenerator.generate(model: gpt2, prompt: [5, 6], maxTokens: 4, sampling: SamplingSettings(),
                                               stopToken: stop, onToken: { out.append($0) })
        XCTAssertTrue(stats.hitEndOfText)
        XCTAssertEqual(out, [])
        XCTAssertThrowsError(try TextGenerator.generate(model: gpt2, prompt: [], maxTokens: 1, sampling: SamplingSettings(),
                                                        stopToken: nil, onToken: { _ in }))
        let tooLong = [Int](repeating: 7, count: gpt2.config.positions + 1)
        XCTAssertThrowsError(try TextGenerator.generate(model: gpt2, prompt: tooLong, maxTokens: 1, sampling: SamplingSettings(),
                                                        stopToken: nil, onToken: { _ in })) { error in
            XCTAssertTrue("\(error)".contains("longer than the model's context"), "\(error)")
        }
        XCTAssertThrowsError(try gpt2.makeSession().forward([gpt2.config.vocabulary]))
    }
}
