import Foundation
import XCTest
import ZooTensor

/// `--kv-cache` on bench, verify and run: the default follows the linear layers (f16 under Q8_0,
/// f32 under f32), the option overrides it, and the choice is reported.
final class KVCacheCLITests: XCTestCase {
    let root = ZooCLI.root

    func testBenchReportsKVCacheDefaultAndOverride() throws {
        for (args, expected) in [(["--dtype", "q8_0"], "f16"), (["--dtype", "f32"], "f32"), (["--dtype", "q8_0", "--kv-cache", "f32"], "f32"),
                                 (["--dtype", "f32", "--kv-cache", "f16"], "f16")] {
            let r = try ZooCLI.run(["bench", root + "/fixtures/demo-gpt2", "--runs", "1", "--prompt-tokens", "4", "--gen-tokens", "2",
                                    "--threads", "1", "--json"] + args)
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(try JSON.parse(r.stdout)["kv_cache"]?.string, expected, "\(args)")
        }
    }

    /// The same f32 model with an f32 and an f16 cache: f16's rounding of K and V only, so a
    /// KL divergence above 0 but far below Q8_0's (~4e-4 on the demo text).
    func testVerifyAgainstWithKVCaches() throws {
        let r = try ZooCLI.run(["verify", root + "/fixtures/demo-gpt2", "--against", root + "/fixtures/demo-gpt2", "--dtype", "f32",
                                "--kv-cache", "f32", "--against-kv-cache", "f16", "--text", root + "/fixtures/demo-gpt2/heldout.txt",
                                "--max-tokens", "600", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let j = try JSON.parse(r.stdout)
        XCTAssertEqual(j["model_kv_cache"]?.string, "f32")
        XCTAssertEqual(j["against_kv_cache"]?.string, "f16")
        let kl = try XCTUnwrap(j["mean_kl"]?.double)
        XCTAssertGreaterThan(kl, 0)
        XCTAssertLessThan(kl, 1e-5)
    }

    /// Fixture verification names each text row's KV cache (JSON and the table's last line); image
    /// rows have none. The demo GPT-2's widths are multiples of 32, so its q8_0 rows run int8 and f16.
    func testFixtureVerifyReportsKVCache() throws {
        let fixture = root + "/fixtures/demo-gpt2/demo-gpt2.fixture.npz"
        for (args, expected) in [(["--dtype", "q8_0"], "f16"), (["--dtype", "q8_0w"], "f32"), (["--dtype", "q8_0", "--kv-cache", "f32"], "f32")] {
            let r = try ZooCLI.run(["verify", root + "/fixtures/demo-gpt2", fixture, "--json"] + args)
            XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
            XCTAssertEqual(try JSON.parse(r.stdout)["results"]?.array?.first?["kv_cache"]?.string, expected, "\(args)")
        }
        let table = try ZooCLI.run(["verify", root + "/fixtures/demo-gpt2", fixture, "--dtype", "f32", "--dtype", "q8_0"])
        XCTAssertTrue(table.stdout.contains("KV cache of the text rows: f32 f32; q8_0 f16"), table.stdout)
        let image = try ZooCLI.run(["verify", root + "/fixtures/vit/hf-tiny", root + "/fixtures/vit/hf-tiny.fixture.npz", "--json"])
        XCTAssertEqual(image.status, 0, image.stderr)
        XCTAssertEqual(try JSON.parse(image.stdout)["results"]?.array?.first?["kv_cache"], .null)
    }

    func testRunRejectsUnknownKVCache() throws {
        let r = try ZooCLI.run(["run", root + "/fixtures/demo-gpt2", "--prompt", "Hi", "--max-tokens", "1", "--kv-cache", "f8"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("--kv-cache"), r.stderr)
        let ok = try ZooCLI.run(["run", root + "/fixtures/demo-gpt2", "--prompt", "Hi", "--max-tokens", "1", "--dtype", "q8_0"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(ok.stderr.contains("f16 KV cache"), ok.stderr)
    }
}
