import Foundation
import XCTest
import ZooTensor
@testable import ZooModels

/// Decoded pixels against PIL's (formats/resize-reference/*.rgb.npy and *.decoded.npy, written by
/// make_resize_reference.py from `np.array(Image.open(f).convert("RGB"))`), and the hostile files.
final class ImageDecodingTests: XCTestCase {
    /// Reference stem -> image file name ("x-jpg" stems are JPEGs).
    private func imageName(forStem stem: String) -> String {
        stem.hasSuffix("-jpg") ? String(stem.dropLast(4)) + ".jpg" : stem + ".png"
    }

    func testDecodedRGBEqualsPIL() throws {
        let refs = ImageTestSupport.files(in: ImageTestSupport.resizeReference, suffix: ".rgb.npy")
        try XCTSkipIf(refs.isEmpty, "formats/resize-reference has no .rgb.npy files yet")
        for ref in refs {
            let stem = String(ref.dropLast(".rgb.npy".count))
            let image = try ImageDecoder.decode(file: ImageTestSupport.images + "/" + imageName(forStem: stem))
            let (want, shape) = try ImageTestSupport.npy(ImageTestSupport.resizeReference + "/" + ref)
            XCTAssertEqual(shape, [image.height, image.width, 3], ref)
            let got = image.pixels.map { Float($0) }
            XCTAssertEqual(ImageTestSupport.maxAbsDiff(got, want), 0, "\(ref): decoded RGB differs from PIL")
        }
    }

    /// Files PIL decodes straight to RGB/RGBA (interlaced, filters, 4:2:0 JPEG): compare the RGB channels.
    func testDecodeOnlyFilesEqualPIL() throws {
        for stem in ["rgb-adam7-37x29", "rgb-adam7-3x2", "rgba-filters-45x35", "rgb-37x29-q90-420-jpg"] {
            let ref = ImageTestSupport.resizeReference + "/\(stem).decoded.npy"
            guard ImageTestSupport.exists(ref) else { continue }
            let image = try ImageDecoder.decode(file: ImageTestSupport.images + "/" + imageName(forStem: stem))
            let (want, shape) = try ImageTestSupport.npy(ref)
            XCTAssertEqual(Array(shape.prefix(2)), [image.height, image.width], stem)
            let channels = shape.count == 3 ? shape[2] : 1
            var rgb = [Float]()
            for p in 0..<(image.width * image.height) {
                for c in 0..<3 { rgb.append(want[p * channels + min(c, channels - 1)]) }
            }
            XCTAssertEqual(ImageTestSupport.maxAbsDiff(image.pixels.map { Float($0) }, rgb), 0, stem)
        }
    }

    func testHostileFilesAreRejectedWithTheirName() throws {
        let bad = ["bad-crc-idat.png", "bad-crc-ihdr.png", "bad-deflate-block.png", "bad-garbage-after-soi.jpg",
                   "bad-huge-dims.png", "bad-short-idat.png", "bad-signature.png", "bad-truncated.jpg",
                   "bad-truncated.png", "bad-zero-width.png", "bad-zlib-header.png"]
        for name in bad {
            let path = ImageTestSupport.images + "/" + name
            guard ImageTestSupport.exists(path) else { continue }
            XCTAssertThrowsError(try ImageDecoder.decode(file: path), name) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains(name), "\(name): error does not name the file: \(text)")
            }
        }
    }

    func testHugeHeaderFailsFastWithTheLimit() throws {
        let path = ImageTestSupport.images + "/bad-huge-dims.png"
        try XCTSkipUnless(ImageTestSupport.exists(path))
        XCTAssertThrowsError(try ImageDecoder.decode(file: path)) { error in
            XCTAssertTrue("\(error)".contains("100000x100000"), "\(error)")
        }
        let zero = ImageTestSupport.images + "/bad-zero-width.png"
        XCTAssertThrowsError(try ImageDecoder.decode(file: zero)) { error in
            XCTAssertTrue("\(error)".contains("0x10"), "\(error)")
        }
    }

    /// A hand-made JPEG frame header claiming 65535 x 65535 is refused before libjpeg allocates.
    func testJPEGFrameHeaderOverLimit() {
        var bytes: [UInt8] = [0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0x03]
        bytes += [1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xFF, 0xD9]
        XCTAssertThrowsError(try bytes.withUnsafeBytes { try ImageDecoder.decode(bytes: $0, path: "made.jpg") }) { error in
            XCTAssertTrue("\(error)".contains("exceeds the limit"), "\(error)")
        }
    }

    func testUnknownFormat() {
        let bytes: [UInt8] = Array("GIF89a....".utf8)
        XCTAssertThrowsError(try bytes.withUnsafeBytes { try ImageDecoder.decode(bytes: $0, path: "x.gif") })
    }
}
