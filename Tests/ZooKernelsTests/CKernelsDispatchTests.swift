import CKernels
import Foundation
import XCTest

/// Variant selection (ZOO_KERNEL, zoo_kernel_force, refusing what the CPU lacks), the thread pool and
/// the deterministic range split.
final class CKernelsDispatchTests: XCTestCase {
    override func tearDown() {
        unsetenv("ZOO_KERNEL")
        zoo_kernel_hide(nil)
        zoo_kernel_reset()
    }

    private var current: String { String(cString: zoo_kernel_name()) }
    private var note: String { String(cString: zoo_kernel_note()) }

    func testForceByName() {
        let all = String(cString: zoo_kernel_variants()).split(separator: ",").map(String.init)
        XCTAssertEqual(all.last, "scalar")
        XCTAssertEqual(zoo_kernel_supported("scalar"), 1)
        for v in all where zoo_kernel_supported(v) == 1 {
            XCTAssertEqual(zoo_kernel_force(v), 0)
            XCTAssertEqual(current, v)
        }
        XCTAssertEqual(zoo_kernel_force("sse9"), Int32(ZOO_KERR_UNKNOWN))
        XCTAssertEqual(current, all.last(where: { zoo_kernel_supported($0) == 1 }), "unknown name leaves the choice alone")
        XCTAssertEqual(zoo_kernel_force("auto"), 0)
        XCTAssertEqual(current, CK.variants().first)
    }

    func testEnvironmentVariable() {
        for v in CK.variants() {
            setenv("ZOO_KERNEL", v, 1)
            zoo_kernel_reset()
            XCTAssertEqual(current, v)
            XCTAssertEqual(note, "")
        }
        setenv("ZOO_KERNEL", "bogus", 1)
        zoo_kernel_reset()
        XCTAssertEqual(current, CK.variants().first)
        XCTAssertTrue(note.contains("not a kernel variant"), note)
    }

    func testRefusesAVariantTheCPULacks() throws {
        // pretend this machine has no SIMD variant; on arm64 there is none to hide
        let simd = CK.variants().filter { $0 != "scalar" }
        guard let top = simd.first else { throw XCTSkip("no SIMD variant on this machine") }
        XCTAssertEqual(zoo_kernel_hide(simd.joined(separator: ",")), 0)
        XCTAssertEqual(zoo_kernel_supported(top), 0)
        XCTAssertEqual(zoo_kernel_force("scalar"), 0)
        XCTAssertEqual(zoo_kernel_force(top), Int32(ZOO_KERR_UNSUPPORTED))
        XCTAssertEqual(current, "scalar")
        setenv("ZOO_KERNEL", top, 1)
        zoo_kernel_reset()
        XCTAssertEqual(current, "scalar")
        XCTAssertTrue(note.contains("not supported by this CPU"), note)
        XCTAssertEqual(zoo_kernel_hide("scalar"), Int32(ZOO_KERR_ARG))
    }

    func testPoolRunsEachTaskExactlyOnce() {
        for threads in [1, 2, 3, 0] {
            let pool = zoo_pool_create(Int32(threads))
            XCTAssertNotNil(pool)
            defer { zoo_pool_destroy(pool) }
            for round in 0..<300 {
                let nTasks = [0, 1, 2, 7, 64][round % 5]
                var counts = [Int32](repeating: 0, count: max(nTasks, 1))
                counts.withUnsafeMutableBufferPointer { c in
                    zoo_pool_run(pool, { ctx, task, n in
                        guard let p = ctx?.assumingMemoryBound(to: Int32.self) else { return }
                        p[Int(task)] += 1 + (n > 0 ? 0 : 100)  // each task owns its slot: no race
                    }, UnsafeMutableRawPointer(c.baseAddress), Int32(nTasks))
                }
                XCTAssertEqual(Array(counts[0..<nTasks]), [Int32](repeating: 1, count: nTasks), "threads \(threads) round \(round)")
                if round % 50 == 49 { usleep(2000) }  // let the workers fall asleep, then wake them
                if round == 150 { zoo_pool_set_spin_us(pool, 0) }  // from now on they sleep after every run
            }
        }
        zoo_pool_run(nil, { _, _, _ in }, nil, 3)  // no pool: runs inline
    }

    func testSplitRange() {
        for (n, align, parts) in [(1000, 16, 3), (17, 16, 2), (5, 16, 4), (50257, 16, 8), (10, 1, 3)] {
            var next: Int64 = 0
            for p in 0..<parts {
                var b: Int64 = -1, e: Int64 = -1
                zoo_split_range(Int64(n), Int64(align), Int32(p), Int32(parts), &b, &e)
                XCTAssertEqual(b, next, "contiguous")
                XCTAssertLessThanOrEqual(b, e)
                if e < n { XCTAssertEqual(e % Int64(align), 0, "inner borders aligned") }
                next = e
            }
            XCTAssertEqual(next, Int64(n), "covers [0, n)")
        }
    }
}
