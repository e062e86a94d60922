import XCTest

/// Absurd numeric options: each was a Swift trap (exit 132, no message) before the bounds in
/// Sources/zoo/ArgumentChecks.swift; now each is the named error, exit 2, before any model work.
final class ArgumentBoundsCLITests: XCTestCase {
    func testAbsurdNumbersAreNamedErrors() throws {
        let root = ZooCLI.root
        let gpt2 = root + "/fixtures/demo-gpt2", vit = root + "/fixtures/demo-vit"
        let cases: [([String], String)] = [
            // prompt.count + maxTokens overflowed in TextGenerator
            (["run", gpt2, "--prompt", "Hi", "--max-tokens", "9223372036854775807", "--threads", "1"],
             "--max-tokens must be between 0 and 2147483647, found 9223372036854775807"),
            // Int32(threads) in KernelThreads.configure
            (["run", gpt2, "--prompt", "Hi", "--max-tokens", "1", "--threads", "3000000000"],
             "--threads must be between 1 and 1024, found 3000000000"),
            (["run", vit, "--image", "x.png", "--threads", "0"], "--threads must be between 1 and 1024, found 0"),
            // 0..<negative count and batch * pixels overflowing in Benchmark.vit
            (["bench", vit, "--batch=-1", "--runs", "1", "--threads", "1"], "--batch must be between 1 and 1024, found -1"),
            (["bench", vit, "--batch", "4611686018427387904", "--runs", "1", "--threads", "1"],
             "--batch must be between 1 and 1024, found 4611686018427387904"),
            // promptTokens + genTokens overflowed; a negative --gen-tokens gave a "context of -4" message
            (["bench", gpt2, "--prompt-tokens", "9223372036854775807", "--gen-tokens", "1", "--runs", "1"],
             "--prompt-tokens must be between 1 and 2147483647"),
            (["bench", gpt2, "--prompt-tokens", "1", "--gen-tokens=-5", "--runs", "1"], "--gen-tokens must be between 0 and 2147483647, found -5"),
            (["bench", gpt2, "--threads", "4096", "--runs", "1"], "--threads must be between 1 and 1024, found 4096"),
            // ids.prefix(negative) in ModelComparison
            (["verify", gpt2, "--against", gpt2, "--text", root + "/README.md", "--max-tokens=-1"],
             "--max-tokens must be between 0 and 2147483647, found -1"),
        ]
        for (arguments, message) in cases {
            let r = try ZooCLI.run(arguments)
            XCTAssertEqual(r.status, 2, "\(arguments): \(r.stderr.prefix(300))")
            XCTAssertTrue(r.stderr.contains(message), "\(arguments): expected '\(message)' in: \(r.stderr.prefix(300))")
        }
    }
}
