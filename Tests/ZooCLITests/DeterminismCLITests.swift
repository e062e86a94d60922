import Foundation
import XCTest

/// Logits do not depend on the thread count: every output element is computed by one thread with
/// a fixed reduction order (CKernels' numerics contracts for the Q8_0, f32 and vector kernels).
final class DeterminismCLITests: XCTestCase {
    let root = ZooCLI.root

    func dump(_ args: [String], threads: Int, to path: String) throws -> Data {
        let r = try ZooCLI.run(args + ["--threads", String(threads), "--dump-logits", path])
        XCTAssertEqual(r.status, 0, r.stderr)
        return try Data(contentsOf: URL(fileURLWithPath: path))
    }

    func testGPT2LogitsAreBitIdenticalFor1To3Threads() throws {
        let s = Scratch()
        let prompt = "import os\nimport sys\n\ndef main(argv):\n    for name in sorted(os.listdir(argv[1])):\n        print(name)\n"
        for dtype in ["f32", "q8_0", "q8_0w"] {
            let args = ["run", root + "/fixtures/demo-gpt2", "--prompt", prompt, "--max-tokens", "0", "--dtype", dtype]
            let one = try dump(args, threads: 1, to: s.file("1-\(dtype).npy"))
            for n in [2, 3] {
                XCTAssertEqual(try dump(args, threads: n, to: s.file("\(n)-\(dtype).npy")), one, "\(dtype): \(n) threads differ from 1")
            }
        }
    }

    func testViTLogitsAreBitIdenticalFor1To3Threads() throws {
        let s = Scratch()
        let images = try FileManager.default.contentsOfDirectory(atPath: root + "/fixtures/demo-vit/images").sorted().prefix(4)
        let args = ["run", root + "/fixtures/demo-vit"] + images.flatMap { ["--image", root + "/fixtures/demo-vit/images/" + $0] }
        let one = try dump(args, threads: 1, to: s.file("v1.npy"))
        for n in [2, 3] { XCTAssertEqual(try dump(args, threads: n, to: s.file("v\(n).npy")), one, "\(n) threads differ from 1") }
    }
}
