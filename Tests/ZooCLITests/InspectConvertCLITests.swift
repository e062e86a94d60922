import Foundation
import XCTest
import ZooTensor
import ZooFormats

final class InspectConvertCLITests: XCTestCase {
    let golden = ZooCLI.root + "/formats/golden"

    func testInspectJSONSchema() throws {
        let r = try ZooCLI.run(["inspect", golden + "/model.gguf", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try JSON.parse(r.stdout)
        XCTAssertEqual(json["format"]?.string, "gguf")
        XCTAssertEqual(json["metadata"]?["golden.u32"]?.int, 4_000_000_000)
        let tensors = try XCTUnwrap(json["tensors"]?.array)
        let q = try XCTUnwrap(tensors.first { $0["name"]?.string == "t.q8_0" })
        XCTAssertEqual(q["dtype"]?.string, "Q8_0")
        XCTAssertEqual(q["shape"]?.array?.compactMap(\.int), [3, 64])  // outermost first (ggml ne reversed)
        XCTAssertEqual(q["bytes"]?.int, 3 * 2 * 34)
    }

    func testInspectTextAndFolders() throws {
        let r = try ZooCLI.run(["inspect", golden + "/sharded"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("2 shards"), r.stdout)
        XCTAssertTrue(r.stdout.contains("a.weight"), r.stdout)
    }

    func testInspectRejectsHostileFileWithMessage() throws {
        let s = Scratch()
        let path = s.file("bad.gguf")
        var bytes = Array("GGUF".utf8) + [3, 0, 0, 0]
        bytes += [UInt8](repeating: 0xFF, count: 8) + [UInt8](repeating: 0, count: 8)  // tensor count 2^64-1
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        let r = try ZooCLI.run(["inspect", path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("bad.gguf") && r.stderr.contains("tensor count"), r.stderr)
        XCTAssertFalse(r.stderr.contains("Fatal error"), r.stderr)
    }

    func testConvertRoundTripAndSafetyRules() throws {
        let s = Scratch()
        let gguf = s.file("m.gguf"), st = s.file("m.safetensors")
        var r = try ZooCLI.run(["convert", golden + "/mixed.safetensors", gguf])
        // mixed.safetensors holds BOOL and U8 tensors, which GGUF cannot hold: a clear refusal, nothing written.
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("GGUF") || r.stderr.contains("gguf"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: gguf))
        r = try ZooCLI.run(["convert", golden + "/model.gguf", st])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("widened to F32"), r.stderr)  // the Q8_0 tensor
        r = try ZooCLI.run(["convert", golden + "/model.gguf", st])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("--force"), r.stderr)
        r = try ZooCLI.run(["convert", st, gguf, "--dtype", "q8_0"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let back = try GGUFReader(path: gguf)
        XCTAssertEqual(back.info("t.f32")?.dtype, .f32, "7 columns is not a whole Q8_0 block: kept")
        XCTAssertEqual(back.info("t.q8_0")?.dtype, .q8_0)
        XCTAssertEqual(back.metadataValue("golden.u32"), .string("4000000000"), "through safetensors, metadata became strings")
        let g2 = s.file("m2.gguf")
        r = try ZooCLI.run(["convert", golden + "/model.gguf", g2, "--dtype", "f16"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let typed = try GGUFReader(path: g2)
        XCTAssertEqual(typed.metadataValue("golden.u32"), .uint32(4_000_000_000), "GGUF to GGUF keeps each value's type")
        XCTAssertEqual(typed.metadataValue("golden.string_array")?.array?.strings(), ["a", "", "ünï", "<|endoftext|>"])
        XCTAssertEqual(typed.info("t.f32")?.dtype, .f16)
        XCTAssertEqual(typed.info("t.i8")?.dtype, .i8, "integer tensors keep their dtype")
        // The requantized Q8_0 tensor equals the original bytes: dequantize then quantize is stable for Q8_0.
        XCTAssertEqual(try back.tensor("t.q8_0").byteArray, try GGUFReader(path: golden + "/model.gguf").tensor("t.q8_0").byteArray)
        r = try ZooCLI.run(["convert", st, s.file("x.npz"), "--dry-run"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("would be written"), r.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: s.file("x.npz")))
    }

    func testConvertIntoReadOnlyFolderFailsCleanly() throws {
        if getuid() == 0 { throw XCTSkip("running as root: a read-only folder is still writable") }
        let s = Scratch()
        let folder = s.file("ro")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        chmod(folder, 0o555)
        defer { chmod(folder, 0o755) }
        let r = try ZooCLI.run(["convert", golden + "/stored.npz", folder + "/out.safetensors"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("temporary file"), r.stderr)
    }
}
