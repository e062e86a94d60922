import Foundation
import XCTest
import ZooTensor
@testable import ZooFormats

/// Files written by numpy, safetensors and gguf-py (formats/make_golden.py) read back with every
/// tensor value and metadata value equal to what the script recorded.
final class GoldenReadTests: XCTestCase {
    func expected() throws -> JSONValue {
        let file = try MappedFile(path: Paths.golden + "/expected.json")
        return try JSON.parse(file.bytes)
    }

    func testEveryGoldenFileReadsWithExactValues() throws {
        let files = try XCTUnwrap(try expected()["files"]?.object)
        XCTAssertGreaterThanOrEqual(files.count, 20)
        for (name, spec) in files {
            let reader = try Checkpoint.open(Paths.golden + "/" + name)
            XCTAssertEqual(reader.format.rawValue, spec["format"]?.string, name)
            let tensors = try XCTUnwrap(spec["tensors"]?.object)
            XCTAssertEqual(Set(reader.tensorNames), Set(tensors.map(\.0)), name)
            for (tensorName, t) in tensors {
                let info = try XCTUnwrap(reader.info(tensorName), "\(name): \(tensorName)")
                XCTAssertEqual(info.dtype.name, t["dtype"]?.string, "\(name): \(tensorName)")
                XCTAssertEqual(info.shape.dims, t["shape"]?.array?.compactMap(\.int), "\(name): \(tensorName)")
                let want = try XCTUnwrap(t["values"]?.array).map { v -> Double in
                    if case .bool(let b) = v { return b ? 1 : 0 }
                    return v.double ?? .nan
                }
                let got = try floats(try reader.tensor(tensorName))
                XCTAssertEqual(got.count, want.count, "\(name): \(tensorName)")
                if info.dtype == .i64 || info.dtype == .u64 {
                    // Beyond 2^24 f32 rounds: compare the integers themselves.
                    let held = try reader.tensor(tensorName); let raw = held.bytes; defer { withExtendedLifetime(held) {} }
                    for (k, v) in (t["values"]?.array ?? []).enumerated() {
                        let bits = raw.loadUnaligned(fromByteOffset: 8 * k, as: UInt64.self)
                        if case .uint(let u) = v { XCTAssertEqual(bits, u) } else { XCTAssertEqual(Int64(bitPattern: bits), Int64(v.int ?? 0), "\(name): \(tensorName)[\(k)]") }
                    }
                    continue
                }
                if info.dtype == .f64 {
                    let held = try reader.tensor(tensorName); let raw = held.bytes; defer { withExtendedLifetime(held) {} }
                    for (k, v) in want.enumerated() { XCTAssertEqual(Double(bitPattern: raw.loadUnaligned(fromByteOffset: 8 * k, as: UInt64.self)), v) }
                    continue
                }
                if info.dtype == .i32 || info.dtype == .u32 {
                    let held = try reader.tensor(tensorName); let raw = held.bytes; defer { withExtendedLifetime(held) {} }
                    for (k, v) in (t["values"]?.array ?? []).enumerated() {
                        let bits = raw.loadUnaligned(fromByteOffset: 4 * k, as: UInt32.self)
                        XCTAssertEqual(info.dtype == .i32 ? Int(Int32(bitPattern: bits)) : Int(bits), v.int, "\(name): \(tensorName)[\(k)]")
                    }
                    continue
                }
                XCTAssertEqual(got, want, "\(name): \(tensorName)")
            }
        }
    }

    func testGGUFMetadataValuesAndTypes() throws {
        let spec = try XCTUnwrap(try expected()["files"]?["model.gguf"]?["metadata"]?.object)
        let reader = try GGUFReader(path: Paths.golden + "/model.gguf")
        XCTAssertEqual(reader.version, 3)
        XCTAssertEqual(reader.alignment, 32)
        for (key, entry) in spec {
            let value = try XCTUnwrap(reader.metadataValue(key), key)
            let type = entry["type"]?.string
            XCTAssertEqual(value.type.name, type, key)
            let want = try XCTUnwrap(entry["value"])
            switch value {
            case .string(let s): XCTAssertEqual(s, want.string, key)
            case .bool(let b): XCTAssertEqual(b, want.bool, key)
            case .float32(let f): XCTAssertEqual(Double(f), want.double, key)
            case .float64(let f): XCTAssertEqual(f, want.double, key)
            case .uint64(let u): if case .uint(let w) = want { XCTAssertEqual(u, w) } else { XCTAssertEqual(Int(u), want.int, key) }
            case .array(let a):
                let items = try XCTUnwrap(want.array)
                XCTAssertEqual(a.count, items.count, key)
                for (i, item) in items.enumerated() {
                    switch a[i] {
                    case .string(let s): XCTAssertEqual(s, item.string, key)
                    case .float32(let f): XCTAssertEqual(Double(f), item.double, key)
                    default: XCTAssertEqual(a[i].int, item.int, key)
                    }
                }
            default: XCTAssertEqual(value.int, want.int, key)
            }
        }
    }

    func testSafetensorsMetadataAndLayout() throws {
        let reader = try SafetensorsReader(path: Paths.golden + "/mixed.safetensors")
        XCTAssertEqual(reader.metadataValue("format"), .string("pt"))
        XCTAssertEqual(reader.metadataValue("unicode"), .string("héllo ✓"))
        XCTAssertEqual(reader.headerLength % 8, 0, "the Rust writer pads the header to a multiple of 8")
    }

    func testFortranOrderIsTransposedToCOrder() throws {
        let t = try NpyReader(path: Paths.golden + "/npy_fortran_3x4.npy").tensor("npy_fortran_3x4")
        XCTAssertEqual(try t.floats(), (0..<12).map(Float.init))  // np.arange(12).reshape(3, 4) in C order
    }

    func testDeflatedAndStoredNpzAgree() throws {
        let a = try NpzReader(path: Paths.golden + "/stored.npz"), b = try NpzReader(path: Paths.golden + "/deflated.npz")
        for name in a.tensorNames {
            XCTAssertEqual(try a.tensor(name).byteArray, try b.tensor(name).byteArray, name)
        }
    }

    func testTensorsAreViewsIntoTheMappedFile() throws {
        let reader = try SafetensorsReader(path: Paths.golden + "/mixed.safetensors")
        let t = try reader.tensor("f32")
        let base = UInt(bitPattern: reader.file.bytes.baseAddress)
        let at = UInt(bitPattern: t.bytes.baseAddress)
        XCTAssertTrue(at >= base && at < base + UInt(reader.file.count), "a safetensors tensor is read without copying")
    }
}
