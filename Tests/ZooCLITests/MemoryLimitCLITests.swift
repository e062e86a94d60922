import Foundation
import XCTest
import ZooTestSupport

/// Hostile files through the built `zoo` under a memory limit: each must end in a clean error exit
/// (status 2 with a "zoo: error:" line), never a crash, a kill or a hang.
///
/// The limit is RLIMIT_DATA (`ulimit -d`), 64 MiB: since Linux 4.7 it counts private writable
/// mappings and the heap, i.e. what an allocation takes, but not read-only file mappings (zoo maps
/// whole checkpoints) or PROT_NONE reservations (glibc reserves 64 MiB per malloc arena). RLIMIT_AS
/// (`ulimit -v`) counts both, so a limit that lets zoo start is hundreds of MB and grows with the
/// core count. (Zoo once linked OpenBLAS, whose pthread build maps a 128 MiB buffer per core at load
/// and retries a failed mmap forever, so zoo hung under a tight limit; the f32 kernels are Zoo's own
/// now. `--threads 1` below keeps the test's memory independent of the machine's core count.)
final class MemoryLimitCLITests: XCTestCase {
    static let limitKiB = 65_536
    static let timeoutSeconds = 60.0
    let scratch = Scratch()

    /// Under `swift test --sanitize=address|thread` zoo is built with the sanitizer too, and its
    /// shadow memory (terabytes, mapped writable) cannot start under any data limit.
    override func setUpWithError() throws {
        // dlsym(RTLD_DEFAULT = nil): is a sanitizer runtime linked into this process?
        let sanitized = ["__asan_init", "__tsan_init"].contains { (name: String) in dlsym(nil, name) != nil }
        try XCTSkipIf(sanitized, "built with a sanitizer: its shadow memory cannot start under a data limit")
    }

    struct Outcome {
        let exited: Bool       // false: killed by a signal
        let status: Int32
        let stderr: String
        let timedOut: Bool
    }

    /// Runs zoo with `arguments` in a shell that first lowers RLIMIT_DATA.
    func runLimited(_ arguments: [String]) throws -> Outcome {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "ulimit -d \(Self.limitKiB) && exec \"$0\" \"$@\"", ZooCLI.executable.path] + arguments
        p.currentDirectoryURL = URL(fileURLWithPath: ZooCLI.root)
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        let done = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in done.signal() }
        try p.run()
        final class Box: @unchecked Sendable { var data = Data() }
        let box = Box()
        let reader = DispatchGroup()
        reader.enter()
        DispatchQueue.global().async { box.data = err.fileHandleForReading.readDataToEndOfFile(); reader.leave() }
        var timedOut = false
        if done.wait(timeout: .now() + Self.timeoutSeconds) == .timedOut {
            timedOut = true
            kill(p.processIdentifier, SIGKILL)
            done.wait()
        }
        reader.wait()
        return Outcome(exited: p.terminationReason == .exit, status: p.terminationStatus,
                       stderr: String(decoding: box.data, as: UTF8.self), timedOut: timedOut)
    }

    func expectCleanError(_ arguments: [String], _ label: String, allowSuccess: Bool = false,
                          file: StaticString = #filePath, line: UInt = #line) throws {
        let o = try runLimited(arguments)
        XCTAssertFalse(o.timedOut, "\(label): still running after \(Self.timeoutSeconds) s under the limit", file: file, line: line)
        XCTAssertTrue(o.exited, "\(label): killed by signal \(o.status) under a \(Self.limitKiB) KiB data limit: \(o.stderr.suffix(400))",
                      file: file, line: line)
        if o.exited && !(allowSuccess && o.status == 0) {
            // runReportingErrors: a ZooError is one "zoo: error:" line and exit status 2.
            XCTAssertEqual(o.status, 2, "\(label): exit status \(o.status): \(o.stderr.suffix(400))", file: file, line: line)
            XCTAssertTrue(o.stderr.contains("zoo: error:"), "\(label): no error message: \(o.stderr.suffix(400))", file: file, line: line)
        }
    }

    /// The limit really is in force in the process that becomes zoo.
    func testLimitReachesTheChild() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "ulimit -d \(Self.limitKiB) && exec cat /proc/self/limits"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        let line = text.split(separator: "\n").first { $0.hasPrefix("Max data size") }.map(String.init) ?? ""
        XCTAssertTrue(line.contains(String(Self.limitKiB * 1024)), "limits: \(line)")
    }

    /// A valid file still opens under the limit (so the limit is not what makes the others fail).
    func testValidFilesOpenUnderTheLimit() throws {
        for name in ["model.gguf", "mixed.safetensors", "deflated.npz", "npy_f32_2x3.npy"] {
            let o = try runLimited(["inspect", "formats/golden/" + name])
            XCTAssertTrue(o.exited && o.status == 0, "\(name): status \(o.status), signal \(!o.exited): \(o.stderr.suffix(400))")
        }
        // A whole forward pass too: the demo ViT classifies a PNG and a JPEG under the limit.
        for image in ["fixtures/images/grey-40x30.png", "fixtures/images/grey-40x30-q90.jpg"] {
            let o = try runLimited(["run", "fixtures/demo-vit", "--threads", "1", "--image", image])
            XCTAssertTrue(o.exited && o.status == 0, "\(image): status \(o.status), signal \(!o.exited): \(o.stderr.suffix(400))")
        }
    }

    func testHostileCheckpointsUnderTheLimit() throws {
        var files = try hostileCheckpoints()
        // Every committed fuzz finding for the readers, and every small checkpoint fixture.
        for folder in ["safetensors", "gguf", "npy", "npz"] {
            let dir = ZooCLI.root + "/fuzz/regressions/" + folder
            for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
                // Named with the format's extension so zoo picks the reader the fuzzer used.
                let copy = scratch.file("regression-\(name).\(folder)")
                try? FileManager.default.copyItem(atPath: dir + "/" + name, toPath: copy)
                files.append((copy, false))
            }
        }
        XCTAssertGreaterThanOrEqual(files.count, 20)
        for (path, valid) in files {
            try expectCleanError(["inspect", path], (path as NSString).lastPathComponent, allowSuccess: valid)
        }
    }

    /// GGUF models the model-gguf fuzz target flagged, and its seeds (which must run), through
    /// `zoo bench`: load, prefill and decode (or classify) under the limit.
    func testFuzzedGGUFModelsUnderTheLimit() throws {
        var models: [(String, Bool)] = []
        for (folder, valid) in [("fuzz/regressions/model-gguf", false), ("fuzz/seeds/model-gguf", true)] {
            let dir = ZooCLI.root + "/" + folder
            for name in try FileManager.default.contentsOfDirectory(atPath: dir).sorted() { models.append((dir + "/" + name, valid)) }
        }
        XCTAssertGreaterThanOrEqual(models.count, 5)
        for (model, valid) in models {
            let arguments = ["bench", model, "--threads", "1", "--runs", "1", "--prompt-tokens", "2", "--gen-tokens", "2"]
            let label = (model as NSString).lastPathComponent
            if valid {
                let o = try runLimited(arguments)
                XCTAssertTrue(o.exited && o.status == 0, "\(label): status \(o.status): \(o.stderr.suffix(400))")
            } else {
                try expectCleanError(arguments, label)
            }
        }
    }

    func testHostileImagesUnderTheLimit() throws {
        var images: [String] = []
        let fixtures = ZooCLI.root + "/fixtures/images"
        for name in try FileManager.default.contentsOfDirectory(atPath: fixtures).sorted() where name.hasPrefix("bad-") {
            images.append(fixtures + "/" + name)
        }
        let regressions = ZooCLI.root + "/fuzz/regressions/image"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: regressions)) ?? [] {
            images.append(regressions + "/" + name)
        }
        // A PNG header asking for the largest allowed image, with no pixel data behind it.
        images.append(writePNGHeader("png-header-only-max.png", width: 16_384, height: 16_384, colorType: 6, depth: 16))
        XCTAssertGreaterThanOrEqual(images.count, 10)
        for image in images {
            try expectCleanError(["run", "fixtures/demo-vit", "--threads", "1", "--image", image],
                                 (image as NSString).lastPathComponent)
        }
    }

    // MARK: hostile files (headers that ask for far more than the file holds)

    func write(_ name: String, _ bytes: [UInt8]) -> String {
        let path = scratch.file(name)
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    func safetensors(_ header: String, length: UInt64? = nil) -> [UInt8] {
        var b = Bytes()
        b.u64(length ?? UInt64(header.utf8.count)); b.text(header)
        return b.data
    }

    func gguf(tensors: UInt64, kvs: UInt64, _ body: (inout Bytes) -> Void) -> [UInt8] {
        var b = Bytes()
        b.text("GGUF"); b.u32(3); b.u64(tensors); b.u64(kvs)
        body(&b)
        return b.data
    }

    func npy(_ header: String, length: UInt32? = nil) -> [UInt8] {
        var b = Bytes()
        b.data = [0x93] + Array("NUMPY".utf8) + [2, 0]
        b.u32(length ?? UInt32(header.utf8.count)); b.text(header)
        return b.data
    }

    /// The files, and whether each is a valid file (zoo may exit 0 for those).
    func hostileCheckpoints() throws -> [(String, Bool)] {
        var out: [(String, Bool)] = []
        func add(_ name: String, _ bytes: [UInt8]) { out.append((write(name, bytes), false)) }
        let t = "{\"dtype\":\"F32\",\"shape\":%@,\"data_offsets\":%@}"
        func tensor(_ shape: String, _ offsets: String) -> String {
            String(format: t, shape, offsets)
        }
        add("len-max.safetensors", safetensors("{}", length: UInt64.max))
        add("len-cap.safetensors", safetensors("{}", length: 200_000_000))
        add("len-past-end.safetensors", safetensors("{}", length: 1 << 40))
        add("huge-dim.safetensors", safetensors("{\"a\":\(tensor("[18446744073709551615]", "[0,4]"))}"))
        add("overflow.safetensors", safetensors("{\"a\":\(tensor("[4294967296,4294967296,16]", "[0,4]"))}"))
        add("offsets-huge.safetensors", safetensors("{\"a\":\(tensor("[1073741824]", "[0,4294967296]"))}"))
        add("many-tensors.safetensors", safetensors("{" + (0..<2000).map { "\"t\($0)\":\(tensor("[1099511627776]", "[0,4398046511104]"))" }
            .joined(separator: ",") + "}"))
        add("tensor-count.gguf", gguf(tensors: UInt64.max, kvs: 0) { _ in })
        add("kv-count.gguf", gguf(tensors: 0, kvs: 1 << 62) { _ in })
        add("key-length.gguf", gguf(tensors: 0, kvs: 1) { $0.u64(UInt64.max - 3) })
        add("string-length.gguf", gguf(tensors: 0, kvs: 1) { $0.str("k"); $0.u32(8); $0.u64(1 << 60) })
        add("array-count.gguf", gguf(tensors: 0, kvs: 1) { $0.str("k"); $0.u32(9); $0.u32(4); $0.u64(UInt64.max / 2) })
        add("string-array-count.gguf", gguf(tensors: 0, kvs: 1) { $0.str("k"); $0.u32(9); $0.u32(8); $0.u64(1 << 40) })
        add("empty-string-array.gguf", gguf(tensors: 0, kvs: 1) { b in
            b.str("k"); b.u32(9); b.u32(8); b.u64(1 << 26)
            for _ in 0..<1000 { b.u64(0) }  // 1000 empty strings of the 2^26 promised
        })
        add("dims-overflow.gguf", gguf(tensors: 1, kvs: 0) { b in
            b.str("t"); b.u32(4); for _ in 0..<4 { b.u64(1 << 40) }; b.u32(0); b.u64(0)
        })
        add("header-huge.npy", npy("{}", length: 1 << 30))
        add("huge-shape.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }\n"))
        add("overflow.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 8), }\n"))
        add("big-shape.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1073741824,), }\n"))
        // npz: the golden deflated archive with its central directory's uncompressed size raised to 2 GiB.
        let deflated = Array(try Data(contentsOf: URL(fileURLWithPath: ZooCLI.root + "/formats/golden/deflated.npz")))
        let eocd = deflated.count - 22
        let central = Int(deflated[eocd + 16]) | Int(deflated[eocd + 17]) << 8 | Int(deflated[eocd + 18]) << 16
            | Int(deflated[eocd + 19]) << 24
        var bomb = deflated
        for (k, v) in [0xFF, 0xFF, 0xFF, 0x7F].enumerated() { bomb[central + 24 + k] = UInt8(v) }
        add("bomb.npz", bomb)
        var entries = deflated
        entries[eocd + 10] = 0xFE; entries[eocd + 11] = 0xFF
        add("entry-count.npz", entries)
        return out
    }

    /// A PNG signature and IHDR (valid CRC) and nothing else.
    func writePNGHeader(_ name: String, width: UInt32, height: UInt32, colorType: UInt8, depth: UInt8) -> String {
        var ihdr: [UInt8] = Array("IHDR".utf8)
        for v in [width, height] { ihdr += [UInt8(v >> 24), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }
        ihdr += [depth, colorType, 0, 0, 0]
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in ihdr {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        crc ^= 0xFFFF_FFFF
        let bytes: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13] + ihdr
            + [UInt8(crc >> 24), UInt8(crc >> 16 & 255), UInt8(crc >> 8 & 255), UInt8(crc & 255)]
        return write(name, bytes)
    }
}
