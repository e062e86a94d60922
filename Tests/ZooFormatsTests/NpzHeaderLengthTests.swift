import Foundation
import XCTest
import ZooTensor
@testable import ZooFormats

/// The .npy header length of a deflated .npz member is read from its inflated first bytes. numpy
/// pads headers so the data starts at a multiple of 64; lengths whose low byte is 246 or more
/// carried into the high byte, and `10 + lo | hi << 8` (Swift's | binds like +) gave 256 for a
/// 502-byte header, so valid files were rejected. Files written by Python's zipfile, read by numpy.
final class NpzHeaderLengthTests: XCTestCase {
    func testEveryPaddedHeaderLengthReads() throws {
        let scratch = ScratchFolder()
        let script = """
            import io, sys, zipfile
            import numpy as np
            folder = sys.argv[1]
            d = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }"
            for hl in (118, 246, 310, 502, 758, 1014):
                header = d + ' ' * (hl - len(d) - 1) + '\\n'
                npy = b'\\x93NUMPY\\x01\\x00' + hl.to_bytes(2, 'little') + header.encode() + np.array([1.5, -2.0], '<f4').tobytes()
                assert list(np.load(io.BytesIO(npy))) == [1.5, -2.0]
                for name, method in (('deflated', zipfile.ZIP_DEFLATED), ('stored', zipfile.ZIP_STORED)):
                    path = f'{folder}/h{hl}-{name}.npz'
                    with zipfile.ZipFile(path, 'w', method) as z:
                        z.writestr('w.npy', npy)
                    assert list(np.load(path)['w']) == [1.5, -2.0]
            print('ok')
            """
        guard let (status, output) = runPython(script, arguments: [scratch.path], modules: ["numpy"]) else {
            throw XCTSkip("python3 with numpy is not available")
        }
        XCTAssertEqual(status, 0, output)
        for hl in [118, 246, 310, 502, 758, 1014] {
            for kind in ["deflated", "stored"] {
                let path = scratch.file("h\(hl)-\(kind).npz")
                let reader = try NpzReader(path: path)
                XCTAssertEqual(reader.tensors.map(\.shape), [[2]], path)
                XCTAssertEqual(try reader.tensor("w").floats(), [1.5, -2.0], path)
            }
        }
    }
}
