import CKernels
import XCTest

/// zoo_weights_alloc / zoo_weights_free: buffers carved from shared huge-page chunks must be aligned,
/// disjoint and survive their neighbours' release.
final class CKernelsWeightMemoryTests: XCTestCase {
    private struct Buffer {
        let pointer: UnsafeMutableRawPointer
        let bytes: Int
        let fill: UInt8
    }

    private func allocate(_ bytes: Int, fill: UInt8) throws -> Buffer {
        let p = try XCTUnwrap(zoo_weights_alloc(bytes), "zoo_weights_alloc(\(bytes)) failed")
        XCTAssertEqual(Int(bitPattern: p) % 64, 0, "\(bytes) bytes: not 64-byte aligned")
        p.initializeMemory(as: UInt8.self, repeating: fill, count: bytes)
        return Buffer(pointer: p, bytes: bytes, fill: fill)
    }

    private func assertIntact(_ buffers: [Buffer], file: StaticString = #filePath, line: UInt = #line) {
        for b in buffers {
            let bytes = UnsafeRawBufferPointer(start: b.pointer, count: b.bytes)
            // first, last and a stride through the middle: an overlapping neighbour would have overwritten some
            let probes = [0, b.bytes - 1] + Array(stride(from: 0, to: b.bytes, by: 4093))
            for i in probes where bytes[i] != b.fill {
                XCTFail("buffer of \(b.bytes) bytes overwritten at \(i): \(bytes[i]) instead of \(b.fill)", file: file, line: line)
                return
            }
        }
    }

    func testBuffersAreAlignedDisjointAndOutliveNeighbours() throws {
        // small ones share a chunk, larger ones spill into the next (chunks grow from 4 MiB), 8+ MiB get their own
        let sizes = [1, 63, 64, 65, 1000, 600_000, 1_888_000, 2_506_752, 3_000_001, 5_500_000, 8_388_000, 9_437_184, 31_000_000, 40, 7]
        var live = try sizes.enumerated().map { try allocate($0.element, fill: UInt8(1 + $0.offset)) }
        assertIntact(live)
        // release every other buffer, check the rest, then allocate more into the freed chunks' successors
        var generator = SystemRandomNumberGenerator()
        live.shuffle(using: &generator)
        for b in live.prefix(live.count / 2) { zoo_weights_free(b.pointer) }
        live.removeFirst(live.count / 2)
        assertIntact(live)
        live += try (0..<40).map { try allocate(100_000 * ($0 + 1), fill: UInt8(100 + $0)) }
        assertIntact(live)
        for b in live { zoo_weights_free(b.pointer) }
        zoo_weights_free(nil)  // like free(NULL)
    }

    func testImpossibleSizeFails() {
        XCTAssertNil(zoo_weights_alloc(Int.max))
        XCTAssertNil(zoo_weights_alloc(Int.max / 2))
        XCTAssertNil(zoo_weights_alloc((1 << 40) + 1), "the documented cap")
    }
}
