import Foundation
import XCTest
import ZooTensor
@testable import ZooFormats

/// Broken and malicious files, built byte by byte. Each must give a ZooError that names the file
/// and the problem: never a crash, a hang, or an allocation the file cannot back.
final class HostileInputTests: XCTestCase {
    let scratch = ScratchFolder()
    var cases = 0

    override func tearDown() {
        super.tearDown()
    }

    /// Writes `bytes` as `name`, opens it, and checks the error text.
    func expectRejected(_ name: String, _ bytes: [UInt8], _ fragment: String, open: ((String) throws -> Void)? = nil,
                        file: StaticString = #filePath, line: UInt = #line) {
        cases += 1
        let path = scratch.write(name, bytes)
        do {
            if let open { try open(path) } else {
                let reader = try Checkpoint.open(path)
                for info in reader.tensors { _ = try reader.tensor(info.name) }  // touching data must fail too
            }
            XCTFail("\(name): accepted a broken file (expected: \(fragment))", file: file, line: line)
        } catch let error as ZooError {
            XCTAssertTrue(error.description.contains(name), "\(name): error does not name the file: \(error)", file: file, line: line)
            XCTAssertTrue(error.description.lowercased().contains(fragment.lowercased()), "\(name): expected '\(fragment)' in: \(error)", file: file, line: line)
        } catch {
            XCTFail("\(name): not a ZooError: \(error)", file: file, line: line)
        }
    }

    // MARK: safetensors

    func safetensors(_ header: String, data: [UInt8] = [], lengthOverride: UInt64? = nil) -> [UInt8] {
        var b = Bytes()
        b.u64(lengthOverride ?? UInt64(header.utf8.count))
        b.text(header)
        b.raw(data)
        return b.data
    }

    func testSafetensors() {
        expectRejected("empty.safetensors", [], "at least the 8-byte")
        expectRejected("seven.safetensors", [1, 0, 0, 0, 0, 0, 0], "at least the 8-byte")
        expectRejected("len-max.safetensors", safetensors("{}", lengthOverride: UInt64.max), "limit")
        expectRejected("len-cap.safetensors", safetensors("{}", lengthOverride: 200_000_000), "limit")
        expectRejected("len-past-end.safetensors", safetensors("{}", lengthOverride: 100), "past the end")
        expectRejected("not-object.safetensors", safetensors("[1, 2]"), "start with '{'")
        expectRejected("bad-utf8.safetensors", safetensors("{\"a\u{1}\":1}").enumerated().map { $0.offset == 11 ? 0xFF : $0.element }, "UTF-8")
        expectRejected("bad-json.safetensors", safetensors("{\"a\": {\"dtype\": \"F32\""), "not valid JSON")
        let t = "{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}"
        expectRejected("duplicate.safetensors", safetensors("{\"a\":\(t),\"a\":\(t)}", data: [0, 0, 0, 0]), "twice")
        expectRejected("dtype.safetensors", safetensors("{\"a\":{\"dtype\":\"F7\",\"shape\":[1],\"data_offsets\":[0,4]}}", data: [0, 0, 0, 0]), "unknown or unsupported dtype")
        expectRejected("neg-shape.safetensors", safetensors("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", data: [0, 0, 0, 0]), "non-negative integer")
        expectRejected("huge-dim.safetensors", safetensors("{\"a\":{\"dtype\":\"F32\",\"shape\":[18446744073709551615],\"data_offsets\":[0,4]}}", data: [0, 0, 0, 0]), "non-negative integer")
        expectRejected("overflow.safetensors", safetensors("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,4]}}", data: [0, 0, 0, 0]), "overflow")
        expectRejected("end-before-begin.safetensors", safetensors("{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,0]}}", data: [0, 0, 0, 0]), "before begin")
        expectRejected("past-end.safetensors", safetensors("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", data: [0, 0, 0, 0]), "past the end")
        expectRejected("overlap.safetensors", safetensors("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", data: [UInt8](repeating: 0, count: 8)), "overlaps")
        expectRejected("gap.safetensors", safetensors("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", data: [UInt8](repeating: 0, count: 8)), "gap")
        expectRejected("trailing.safetensors", safetensors("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", data: [UInt8](repeating: 0, count: 12)), "data buffer holds 12")
        expectRejected("size-mismatch.safetensors", safetensors("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", data: [0, 0, 0, 0]), "needs 8 bytes")
        expectRejected("meta-nonstring.safetensors", safetensors("{\"__metadata__\":{\"n\":1}}"), "not a string")
        expectRejected("no-offsets.safetensors", safetensors("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", data: [0, 0, 0, 0]), "data_offsets")
        expectRejected("deep.safetensors", safetensors("{\"a\":" + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000) + "}"), "JSON")
        expectRejected("q8-in-st.safetensors", safetensors("{\"a\":{\"dtype\":\"Q8_0\",\"shape\":[32],\"data_offsets\":[0,34]}}", data: [UInt8](repeating: 0, count: 34)), "dtype")
    }

    func testShardedIndex() throws {
        let folder = ScratchFolder()
        let shard = safetensors("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", data: [0, 0, 128, 63])
        _ = folder.write("s1.safetensors", shard)
        let cases: [(String, String, String)] = [
            ("missing.index.json", "{\"weight_map\":{\"a\":\"nope.safetensors\"}}", "does not exist"),
            ("escape.index.json", "{\"weight_map\":{\"a\":\"../s1.safetensors\"}}", "not a plain file name"),
            ("wrong-shard.index.json", "{\"weight_map\":{\"a\":\"s1.safetensors\",\"b\":\"s1.safetensors\"}}", "does not hold it"),
            ("no-map.index.json", "{\"metadata\":{}}", "weight_map"),
        ]
        for (name, text, fragment) in cases {
            let path = folder.write(name, Array(text.utf8))
            XCTAssertThrowsError(try ShardedSafetensorsReader(indexPath: path), name) { error in
                XCTAssertTrue("\(error)".contains(fragment), "\(name): \(error)")
                XCTAssertTrue("\(error)".contains(name), "\(name): \(error)")
            }
        }
        let ok = folder.write("model.safetensors.index.json", Array("{\"weight_map\":{\"a\":\"s1.safetensors\"}}".utf8))
        XCTAssertEqual(try ShardedSafetensorsReader(indexPath: ok).tensor("a").floats(), [1])
    }

    // MARK: GGUF

    /// A GGUF header: magic, version, counts, then `body`.
    func gguf(version: UInt32 = 3, tensors: UInt64, kvs: UInt64, _ body: (inout Bytes) -> Void) -> [UInt8] {
        var b = Bytes()
        b.raw(Array("GGUF".utf8)); b.u32(version); b.u64(tensors); b.u64(kvs)
        body(&b)
        return b.data
    }

    func info(_ b: inout Bytes, _ name: String, _ ne: [Int64], type: UInt32 = 0, offset: UInt64 = 0) {
        b.str(name); b.u32(UInt32(ne.count)); for d in ne { b.i64(d) }; b.u32(type); b.u64(offset)
    }

    func pad(_ b: inout Bytes, to alignment: Int = 32) { while b.data.count % alignment != 0 { b.u8(0) } }

    func testGGUF() throws {
        expectRejected("magic.gguf", Array("GGUX".utf8) + [3, 0, 0, 0] + [UInt8](repeating: 0, count: 16), "magic")
        expectRejected("v1.gguf", gguf(version: 1, tensors: 0, kvs: 0) { _ in }, "version 1")
        expectRejected("v-big-endian.gguf", gguf(version: 0x0300_0000, tensors: 0, kvs: 0) { _ in }, "big-endian")
        expectRejected("tensor-count.gguf", gguf(tensors: UInt64.max, kvs: 0) { _ in }, "tensor count")
        expectRejected("kv-count.gguf", gguf(tensors: 0, kvs: 1 << 62) { _ in }, "key/value count")
        expectRejected("key-length.gguf", gguf(tensors: 0, kvs: 1) { $0.u64(UInt64.max - 3) }, "length")
        expectRejected("string-length.gguf", gguf(tensors: 0, kvs: 1) { $0.str("k"); $0.u32(8); $0.u64(1 << 60) }, "length of 'k'")
        expectRejected("value-type.gguf", gguf(tensors: 0, kvs: 1) { $0.str("k"); $0.u32(13); $0.u32(0) }, "unknown value type 13")
        expectRejected("nested.gguf", gguf(tensors: 0, kvs: 1) { $0.str("k"); $0.u32(9); $0.u32(9); $0.u64(1) }, "nested")
        expectRejected("array-count.gguf", gguf(tensors: 0, kvs: 1) { $0.str("k"); $0.u32(9); $0.u32(4); $0.u64(UInt64.max / 2) }, "element count")
        expectRejected("array-elem-type.gguf", gguf(tensors: 0, kvs: 1) { $0.str("k"); $0.u32(9); $0.u32(77); $0.u64(0) }, "unknown element type")
        expectRejected("bool.gguf", gguf(tensors: 0, kvs: 1) { $0.str("k"); $0.u32(7); $0.u8(2) }, "bool")
        expectRejected("dup-key.gguf", gguf(tensors: 0, kvs: 2) { $0.str("k"); $0.u32(0); $0.u8(1); $0.str("k"); $0.u32(0); $0.u8(1) }, "duplicate metadata key")
        expectRejected("align-type.gguf", gguf(tensors: 0, kvs: 1) { $0.str("general.alignment"); $0.u32(10); $0.u64(32) }, "must be a u32")
        expectRejected("align-zero.gguf", gguf(tensors: 0, kvs: 1) { $0.str("general.alignment"); $0.u32(4); $0.u32(0) }, "power of two")
        expectRejected("align-24.gguf", gguf(tensors: 0, kvs: 1) { $0.str("general.alignment"); $0.u32(4); $0.u32(24) }, "power of two")
        expectRejected("key-utf8.gguf", gguf(tensors: 0, kvs: 1) { $0.u64(2); $0.raw([0xC3, 0x28]); $0.u32(0); $0.u8(0) }, "UTF-8")
        func withTensors(_ name: String, _ fragment: String, count: UInt64 = 1, data: Int = 64, _ infos: (inout Bytes) -> Void) {
            expectRejected(name, gguf(tensors: count, kvs: 0) { b in infos(&b); pad(&b); b.raw([UInt8](repeating: 0, count: data)) }, fragment)
        }
        withTensors("long-name.gguf", "at most 63") { info(&$0, String(repeating: "x", count: 64), [1]) }
        withTensors("name-utf8.gguf", "UTF-8") { $0.u64(1); $0.u8(0xFF); $0.u32(1); $0.i64(1); $0.u32(0); $0.u64(0) }
        withTensors("dup-name.gguf", "duplicate tensor name", count: 2) { info(&$0, "t", [1]); info(&$0, "t", [1], offset: 32) }
        withTensors("dims.gguf", "at most 4") { info(&$0, "t", [1, 1, 1, 1, 1]) }
        withTensors("neg-dim.gguf", "negative") { info(&$0, "t", [-1]) }
        withTensors("dim-overflow.gguf", "overflow") { info(&$0, "t", [1 << 40, 1 << 40]) }
        withTensors("type.gguf", "unknown ggml type 4") { info(&$0, "t", [1], type: 4) }
        withTensors("type99.gguf", "unknown ggml type 99") { info(&$0, "t", [1], type: 99) }
        withTensors("q8-row.gguf", "multiple of the Q8_0 block size") { info(&$0, "t", [33], type: 8) }
        withTensors("offset-align.gguf", "alignment") { info(&$0, "t", [1], offset: 4) }
        withTensors("offset-past-end.gguf", "not where the previous tensors end") { info(&$0, "t", [1], offset: 1 << 40) }
        withTensors("too-big.gguf", "needs 4096 bytes") { info(&$0, "t", [1024]) }
        withTensors("overlap.gguf", "not where the previous tensors end", count: 2) { info(&$0, "a", [8]); info(&$0, "b", [8], offset: 0) }
        withTensors("gap.gguf", "not where the previous tensors end", count: 1) { info(&$0, "a", [8], offset: 32) }
    }

    /// Every prefix of a valid GGUF, safetensors and npz file is either rejected cleanly or (for
    /// a prefix that is a complete smaller file, which cannot happen here) read.
    func testEveryTruncation() throws {
        for name in ["model.gguf", "mixed.safetensors", "stored.npz", "deflated.npz", "npy_f32_2x3.npy"] {
            let whole = Array(try Data(contentsOf: URL(fileURLWithPath: Paths.golden + "/" + name)))
            // Every byte of the fixed headers, then every 11th byte (all fields are 8 bytes or longer past there... mostly).
            for n in 0..<whole.count where n < 160 || n % 11 == 0 || n == whole.count - 1 {
                let path = scratch.write("cut-\(n)-" + name, Array(whole[0..<n]))
                XCTAssertThrowsError(try { let r = try Checkpoint.open(path); for t in r.tensors { _ = try r.tensor(t.name) } }(), "\(name) cut at \(n)") { error in
                    XCTAssertTrue(error is ZooError, "\(name) cut at \(n): \(error)")
                }
                try? FileManager.default.removeItem(atPath: path)
            }
        }
    }

    // MARK: npy

    func npy(_ header: String, version: UInt8 = 1, data: [UInt8] = [], lengthOverride: UInt32? = nil) -> [UInt8] {
        var b = Bytes()
        b.raw(NpyHeader.magic); b.u8(version); b.u8(0)
        if version == 1 { b.u16(UInt16(lengthOverride ?? UInt32(header.utf8.count))) } else { b.u32(lengthOverride ?? UInt32(header.utf8.count)) }
        b.text(header); b.raw(data)
        return b.data
    }

    func testNpy() {
        expectRejected("magic.npy", Array("NUMPY\u{1}\u{0}".utf8) + [0, 0], "bad magic")
        expectRejected("version.npy", npy("{}", version: 9), "unsupported .npy version 9.0")
        expectRejected("header-past-end.npy", npy("{}", version: 2, lengthOverride: 1 << 30), "limit")
        expectRejected("header-short.npy", npy("{}", lengthOverride: 500), "needs 500 bytes")
        expectRejected("not-dict.npy", npy("[1, 2]\n"), "expected '{'")
        expectRejected("missing-key.npy", npy("{'descr': '<f4', 'shape': (1,), }\n", data: [0, 0, 0, 0]), "exactly the keys")
        expectRejected("extra-key.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': True}\n", data: [0, 0, 0, 0]), "exactly the keys")
        expectRejected("object.npy", npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }\n", data: [0, 0, 0, 0, 0, 0, 0, 0]), "not a supported numeric type")
        expectRejected("complex.npy", npy("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }\n", data: [UInt8](repeating: 0, count: 8)), "not a supported numeric type")
        expectRejected("structured.npy", npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }\n"), "unsupported value")
        expectRejected("neg-shape.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }\n"), "non-negative integer")
        expectRejected("huge-shape.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }\n"), "too large")
        expectRejected("overflow.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 8), }\n"), "overflow")
        expectRejected("short-data.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }\n", data: [0, 0, 0, 0]), "needs 12 bytes")
        expectRejected("long-data.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n", data: [UInt8](repeating: 0, count: 8)), "the file holds 8")
        expectRejected("fortran-value.npy", npy("{'descr': '<f4', 'fortran_order': 1, 'shape': (1,), }\n", data: [0, 0, 0, 0]), "unsupported value")
    }

    // MARK: npz

    func member(_ zip: [UInt8], _ path: String) throws -> (central: Int, local: Int, member: ZipMember) {
        let archive = try zip.withUnsafeBytes { try ZipArchive(bytes: $0, path: path) }
        let first = archive.members[0]
        // Central directory: locate via the EOCD's offset field.
        let eocd = zip.count - 22
        let central = Int(zip[eocd + 16]) | Int(zip[eocd + 17]) << 8 | Int(zip[eocd + 18]) << 16 | Int(zip[eocd + 19]) << 24
        let local = Int(zip[central + 42]) | Int(zip[central + 43]) << 8 | Int(zip[central + 44]) << 16 | Int(zip[central + 45]) << 24
        return (central, local, first)
    }

    func patched(_ bytes: [UInt8], _ at: Int, _ values: [UInt8]) -> [UInt8] {
        var copy = bytes
        for (k, v) in values.enumerated() { copy[at + k] = v }
        return copy
    }

    func le32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }

    func testNpz() throws {
        let stored = Array(try Data(contentsOf: URL(fileURLWithPath: Paths.golden + "/stored.npz")))
        let deflated = Array(try Data(contentsOf: URL(fileURLWithPath: Paths.golden + "/deflated.npz")))
        let s = try member(stored, "stored.npz"), d = try member(deflated, "deflated.npz")
        expectRejected("no-eocd.npz", Array(stored[0..<(stored.count - 22)]) + [UInt8](repeating: 0, count: 22), "end-of-central-directory")
        expectRejected("cd-offset.npz", patched(stored, stored.count - 6, le32(0x7FFF_FFF0)), "outside")
        expectRejected("entry-count.npz", patched(stored, stored.count - 12, [0xFE, 0xFF]), "cannot fit")
        expectRejected("local-signature.npz", patched(stored, s.local, [0, 0, 0, 0]), "bad signature")
        expectRejected("csize-past-end.npz", patched(stored, s.central + 20, le32(0x7000_0000)), "outside")
        expectRejected("stored-sizes-differ.npz", patched(stored, s.central + 24, le32(UInt32(s.member.uncompressedSize + 4))), "uncompressed size")
        expectRejected("crc.npz", patched(stored, s.central + 16, le32(0xDEAD_BEEF)), "CRC")
        expectRejected("encrypted.npz", patched(stored, s.central + 8, [1, 0]), "encrypted")
        expectRejected("method.npz", patched(stored, s.central + 10, [12, 0]), "method 12")
        expectRejected("corrupt-deflate.npz", patched(deflated, d.member.dataOffset + 2, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]), "deflate")
        expectRejected("usize-lie-bigger.npz", patched(deflated, d.central + 24, le32(UInt32(d.member.uncompressedSize + 64))), "bytes")
        expectRejected("usize-lie-smaller.npz", patched(deflated, d.central + 24, le32(UInt32(d.member.uncompressedSize - 8))), "bytes")
        expectRejected("bomb.npz", patched(deflated, d.central + 24, le32(0x7FFF_FFFF)), "more than deflate can produce")
        expectRejected("deflate-crc.npz", patched(deflated, d.central + 16, le32(0x1234_5678)), "CRC")
        // A 42-byte file: zip64 locator + EOCD with saturated counts. The record offset's limit
        // (file size - 56) is negative; it used to trap converting that limit to UInt64.
        var short = Bytes()
        short.u32(0x0706_4B50); short.u32(0); short.u64(8); short.u32(1)
        short.u32(0x0605_4B50); short.u16(0); short.u16(0); short.u16(0xFFFF); short.u16(0xFFFF)
        short.u32(0); short.u32(0); short.u16(0)
        expectRejected("zip64-short.npz", short.data, "zip64 end record offset at offset 8 is 8, more than the limit 0")
        // Two members with one name.
        var twice = stored
        let nameLength = Int(stored[s.central + 28]) | Int(stored[s.central + 29]) << 8
        let secondCentral = s.central + 46 + nameLength + Int(stored[s.central + 30]) + Int(stored[s.central + 32])
        let secondNameLength = Int(stored[secondCentral + 28])
        if secondNameLength == nameLength {
            for k in 0..<nameLength { twice[secondCentral + 46 + k] = stored[s.central + 46 + k] }
            expectRejected("dup-member.npz", twice, "")
        }
    }

    func testAtLeastFortyHostileFiles() {
        testSafetensors(); testNpy(); try? testGGUF(); try? testNpz()
        XCTAssertGreaterThanOrEqual(cases, 40)
    }
}
